// The rating terminal. Idle, it looks again every few seconds for a ticket to rate; asking
// about one, it returns to idle when the server says the question lapses (the citizen has
// left without rating). Either way it reloads its bare address, dropping any message, so a
// reload does not show "thank you" again (the bridge's port is remembered by bridge.js).
//
// The rating is taken by touch on the screen. The terminal has nothing to read from the
// peripheral bridge (docs/KIOSK.md §5): it connects only to report its machine's peripherals,
// from the agent's `hello` and `status` events, as its heartbeat (bridge.js), so that the back
// office sees a terminal that is off, or whose agent is down.
(function () {
  var form = document.querySelector('form[data-idle-after]');
  var wait = form ? Math.max(1, Number(form.getAttribute('data-idle-after')) || 1) * 1000 : 3000;
  var bare = location.pathname;
  if (window.WujingBridge) window.WujingBridge.start('rating_terminal', {});
  setTimeout(function () { location.replace(bare); }, wait);
})();
