// The display board: live calls and queue counts over server-sent events, calls announced one
// after another when the screen is set up to speak (its address has sound=on; no button on a
// public screen). The clock runs from the server's time, so it shows hall time whatever the
// display PC's clock and zone say.
(function () {
  const calls = document.getElementById('calls');
  const sound = document.body.dataset.sound === 'on';
  const skew = Number(document.body.dataset.now) - Date.now();
  const queue = [];
  let speaking = false;
  // Announcements wait for each other: a call never talks over the previous one.
  function speakNext() {
    if (speaking || !queue.length) return;
    const [label, win] = queue.shift();
    if (!sound || !('speechSynthesis' in window)) { return speakNext(); }
    speaking = true;
    const spaced = label.split('').join(' ');
    const zh = new SpeechSynthesisUtterance('请 ' + spaced + ' 号，到 ' + win + ' 号窗口办理');
    zh.lang = 'zh-CN';
    const en = new SpeechSynthesisUtterance('Number ' + spaced + ', please go to window ' + win);
    en.lang = 'en-US';
    en.onend = en.onerror = function () { speaking = false; speakNext(); };
    speechSynthesis.speak(zh);
    speechSynthesis.speak(en);
  }
  function counts(waiting) {
    (waiting || []).forEach(function (w) {
      const li = document.querySelector('#waiting li[data-queue="' + w.queue + '"] .count');
      if (li) li.textContent = w.count;
    });
  }
  const es = new EventSource(location.pathname + '/events');
  es.addEventListener('call', function (e) {
    const c = JSON.parse(e.data);
    const empty = calls.querySelector('.empty');
    if (empty) empty.remove();
    const li = document.createElement('li');
    li.dataset.label = c.label;
    li.textContent = c.label + ' → ' + c.window + ' 号窗口 Window ' + c.window;
    calls.prepend(li);
    while (calls.children.length > 8) calls.lastElementChild.remove();
    counts(c.waiting);
    queue.push([c.label, c.window]);
    speakNext();
  });
  es.addEventListener('waiting', function (e) { counts(JSON.parse(e.data).waiting); });
  const clock = document.getElementById('clock');
  const fmt = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  function tick() { clock.textContent = fmt.format(new Date(Date.now() + skew)); }
  tick();
  setInterval(tick, 1000);
  // A paired display board reports that it is alive (docs/KIOSK.md §3): it has no agent and no
  // peripheral but its network, and the server says when to beat again.
  if (document.body.dataset.device === 'display_board') {
    const beat = function () {
      fetch('/api/v1/device/heartbeat', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
        body: JSON.stringify({ peripherals: { network: 'ok' }, software: 'display board' }),
      }).then(function (r) { return r.ok ? r.json() : {}; })
        .catch(function () { return {}; })
        .then(function (a) { setTimeout(beat, Math.max(10, Math.min(300, a.next_in_secs || 60)) * 1000); });
    };
    beat();
  }
})();
