// The hold's countdown: minutes and seconds left until the held seat is released, counted from
// the seconds the server said were left when it made the page (not from the device's clock,
// which may be wrong). Written in words as the server writes them (portal/hold.rs `time_left`):
// "9 分 41 秒", "9 min 41 s" — "9:41" reads as a time of day. The words come from the page
// (data-units: whole minutes, minutes, seconds) so that the script knows no language.
(function(){var e=document.getElementById('countdown');var u=(e.dataset.units||'min min s').split(' ');var t=Date.now()+1000*(+e.dataset.left);function w(s){var m=Math.floor(s/60),r=s%60;return m===0?r+' '+u[2]:r===0?m+' '+u[0]:m+' '+u[1]+' '+r+' '+u[2]}function f(){var s=Math.max(0,Math.round((t-Date.now())/1000));e.textContent=w(s);if(s>0)setTimeout(f,1000)}f()})();
