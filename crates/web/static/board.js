// The display board: live calls over server-sent events, announced one after another.
(function () {
  const calls = document.getElementById('calls');
  const queue = [];
  let speaking = false, sound = false;
  document.getElementById('sound').onclick = function () { sound = true; this.remove(); };
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
  const es = new EventSource(location.pathname + '/events');
  es.addEventListener('call', function (e) {
    const c = JSON.parse(e.data);
    const li = document.createElement('li');
    li.dataset.label = c.label;
    li.textContent = c.label + ' → ' + c.window + ' 号窗口 Window ' + c.window;
    calls.prepend(li);
    while (calls.children.length > 8) calls.lastElementChild.remove();
    queue.push([c.label, c.window]);
    speakNext();
  });
  setInterval(function () { document.getElementById('clock').textContent = new Date().toLocaleTimeString('zh-CN'); }, 1000);
})();
