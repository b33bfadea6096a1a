// The check-in kiosk's screen (docs/KIOSK.md §6, "The check-in screen"), on the kiosk shell
// (shell.js: keypad, language, older-adult mode, idle reset and wipe).
//
// - With a peripheral bridge (bridge.js), the ID card reader fills in the identity number and
//   the form is sent exactly as if it had been typed: the server trusts the card no more than
//   the keypad. A card that cannot be read is asked for again; without the bridge the screen
//   says, calmly, to use the keypad.
// - The ticket is printed by the bridge's printer (the server renders it as a PDF), else by the
//   browser's printing when the start address asks for it (print=auto), else it is on the
//   screen only.
(function () {
  'use strict';
  var shell = window.WujingShell;
  var t = shell.t;
  var body = document.body;
  var ticketId = body.getAttribute('data-ticket');
  var form = document.querySelector('main form');
  var idField = document.getElementById('id_number');
  var bridge = null;

  // --- The bridge -----------------------------------------------------------------------------
  var reader = document.getElementById('reader');
  var readerText = document.getElementById('reader-text');
  var readAgain = document.getElementById('read-again');
  function say(text) {
    if (!reader) return;
    readerText.textContent = text;
    reader.hidden = !text;
  }

  var reading = false;
  var stopReading = null;
  /** Waits for a card on the reader and checks in with its number. */
  function read() {
    if (reading || !bridge || !form) return;
    reading = true;
    if (readAgain) readAgain.hidden = true;
    stopReading = shell.readCard(bridge, 'id_card.read', {
      say: say,
      read: function (card) {
        say(t('已读取身份证，正在签到…', 'Card read; checking you in…'));
        // Only the number: the name, photo and address are dropped unread.
        idField.value = card.id_number;
        card = null;
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      },
      unavailable: function () {
        reading = false;
        say(t('读卡器暂不可用，请用下方键盘输入身份证号码', 'The card reader is not available; please type your ID number below'));
      }
    });
  }
  if (readAgain) readAgain.addEventListener('click', read);

  var printed = false;
  /** The ticket on paper: the bridge's printer, else the browser's (print=auto), else none. */
  function printTicket(b, asked) {
    if (printed) return;
    printed = true;
    var state = document.getElementById('print-state');
    var auto = asked || body.getAttribute('data-print') === 'auto';
    var end = function () { if (b && b.ready) b.request('session.end').catch(function () {}); };
    if (!(b && b.has('printer'))) {
      if (auto) window.print();
      end();
      return;
    }
    state.textContent = t('正在打印号票…', 'Printing your ticket…');
    shell.printPdf(b, '/kiosk/tickets/' + encodeURIComponent(ticketId) + '/pdf', 'a4')
      .then(function () {
        state.textContent = t('号票已打印，请取走', 'Your ticket is printed; please take it');
        // Printed: the button would print a second ticket for the same number.
        var button = document.getElementById('print');
        if (button) button.hidden = true;
      }, function () {
        state.textContent = t('未能打印，请记下屏幕上的号', 'It could not be printed; please note your number on the screen');
        printed = false; // the button may try again
      })
      .then(end);
  }

  var decided = false;
  bridge = window.WujingBridge.start('check_in', {
    ready: function (b) {
      if (ticketId) {
        decided = true;
        printTicket(b);
        return;
      }
      if (!b.has('id_reader')) {
        say('');
        return;
      }
      // After a refused check-in the card may still lie on the reader: read again only when
      // the citizen asks, not in a loop.
      if (document.querySelector('main .err')) {
        say(t('可以再次读取身份证，或用键盘输入', 'You can read your ID card again, or use the keypad'));
        if (readAgain) readAgain.hidden = false;
      } else {
        read();
      }
    },
    down: function () {
      if (ticketId) {
        if (!decided) { decided = true; printTicket(null); }
        return;
      }
      // The socket dropped: the read under way ends; the next `ready` starts another.
      if (stopReading) stopReading();
      reading = false;
      if (readAgain) readAgain.hidden = true;
      say(t('读卡器暂不可用，请用下方键盘输入身份证号码', 'The card reader is not available; please type your ID number below'));
    }
  });

  shell.useBridge(bridge);

  var print = document.getElementById('print');
  if (print) print.addEventListener('click', function () {
    printed = false;
    printTicket(bridge && bridge.ready ? bridge : null, true);
  });
  var done = document.getElementById('done');
  if (done) done.addEventListener('click', function (e) { e.preventDefault(); shell.wipe(); });
})();
