// Halls nearest first. The position comes from the browser's geolocation, on the citizen's
// request, and stays in the browser: distances are computed here (haversine, as
// wujing_domain::GeoPoint::distance_km) and nothing is sent to the server. Without
// geolocation, or when the citizen declines, the page stays as it is: halls by district.
(function () {
  var box = document.getElementById('nearest');
  if (!box || !navigator.geolocation) return;
  var halls = Array.prototype.slice.call(document.querySelectorAll('section.hall[data-location]'));
  if (halls.length < 2) return;
  box.hidden = false;
  var list = document.getElementById('nearest-list');
  var button = document.getElementById('nearest-button');

  function km(a, b) {
    var r = Math.PI / 180, p1 = a[0] * r, p2 = b[0] * r;
    var dp = p2 - p1, dl = (b[1] - a[1]) * r;
    var h = Math.pow(Math.sin(dp / 2), 2) + Math.cos(p1) * Math.cos(p2) * Math.pow(Math.sin(dl / 2), 2);
    return 2 * 6371.0088 * Math.asin(Math.sqrt(h));
  }

  function words(d) {
    return (d < 10 ? d.toFixed(1) : Math.round(d)) + ' ' + box.dataset.km;
  }

  function show(pos) {
    var here = [pos.coords.latitude, pos.coords.longitude];
    var ranked = halls.map(function (s) {
      var at = s.dataset.location.split(',').map(Number);
      var d = km(here, at);
      s.querySelector('.distance').textContent = ' · ' + words(d);
      return { section: s, d: d };
    }).sort(function (a, b) { return a.d - b.d; });
    list.textContent = '';
    var h = document.createElement('h2');
    h.textContent = box.dataset.title;
    var ol = document.createElement('ol');
    ranked.slice(0, 3).forEach(function (x) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = '#' + x.section.id;
      a.textContent = x.section.querySelector('h2').firstChild.textContent.trim();
      a.addEventListener('click', function () {
        var d = x.section.closest('details');
        if (d) d.open = true;
      });
      li.appendChild(a);
      li.appendChild(document.createTextNode(' · ' + words(x.d)));
      ol.appendChild(li);
    });
    list.appendChild(h);
    list.appendChild(ol);
    // The nearest district opens, so its days are one tap away.
    var first = ranked[0].section.closest('details');
    if (first) first.open = true;
  }

  function refused() {
    list.textContent = box.dataset.denied;
  }

  button.addEventListener('click', function () {
    navigator.geolocation.getCurrentPosition(show, refused, { maximumAge: 600000, timeout: 15000 });
  });
})();
