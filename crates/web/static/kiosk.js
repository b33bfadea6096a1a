// The check-in kiosk. The on-screen keypad types into the field last touched (the identity
// number unless the booking code was chosen), so a kiosk needs no keyboard. The ticket screen
// prints itself when the kiosk is set up to (print=auto in its address) and goes back to the
// empty form after a while, so the next citizen never sees someone else's number.
(function () {
  var target = document.getElementById('id_number');
  ['code', 'id_number'].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) el.addEventListener('focus', function () { target = el; });
  });
  document.querySelectorAll('.keypad button').forEach(function (b) {
    b.addEventListener('click', function () {
      if (!target) return;
      var k = b.getAttribute('data-key');
      if (k === 'back') target.value = target.value.slice(0, -1);
      else if (!target.maxLength || target.maxLength < 0 || target.value.length < target.maxLength) target.value += k;
      target.focus();
    });
  });
  var done = document.getElementById('done');
  if (done) {
    var print = document.getElementById('print');
    if (print) print.addEventListener('click', function () { window.print(); });
    if (document.body.getAttribute('data-print') === 'auto') window.print();
    setTimeout(function () { location.replace(done.getAttribute('href')); }, 30000);
  }
})();
