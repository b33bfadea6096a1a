// The idle rating terminal looks again every few seconds for a ticket to rate, and drops
// any message from the address so that a reload does not show it again.
setTimeout(function () { location.replace(location.pathname); }, 3000);
