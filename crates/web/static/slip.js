// The slip's print button (a script file: the content security policy allows no inline handler).
document.getElementById('print').addEventListener('click', function () { window.print(); });
