// The slip's print button (a script file: the content security policy allows no inline handler).
// Only an active booking's slip has one.
var print = document.getElementById('print');
if (print) { print.addEventListener('click', function () { window.print(); }); }
