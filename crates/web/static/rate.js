// The rating terminal. Idle, it looks again every few seconds for a ticket to rate; asking
// about one, it returns to idle when the server says the question lapses (the citizen has
// left without rating). Either way it reloads its bare address, dropping any message, so a
// reload does not show "thank you" again.
(function () {
  var form = document.querySelector('form[data-idle-after]');
  var wait = form ? Math.max(1, Number(form.getAttribute('data-idle-after')) || 1) * 1000 : 3000;
  setTimeout(function () { location.replace(location.pathname); }, wait);
})();
