// New alerts are announced without reloading under the reader's hands; they also arrive by text.
(function () {
  var fresh = document.getElementById('fresh');
  var open = +fresh.dataset.open;
  setInterval(function () {
    fetch('/api/v1/alerts').then(function (r) { return r.json(); }).then(function (list) {
      var now = list.filter(function (a) { return !a.acknowledged_at; }).length;
      if (now !== open) {
        fresh.innerHTML = '有新的提醒 New alerts: ' + now + ' <a href="/staff/alerts">刷新 Reload</a>';
      }
    });
  }, 10000);
})();
