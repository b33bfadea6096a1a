// The hold's countdown: minutes and seconds left until the held seat is released, counted from
// the seconds the server said were left when it made the page (not from the device's clock,
// which may be wrong).
(function(){var e=document.getElementById('countdown');var t=Date.now()+1000*(+e.dataset.left);function f(){var s=Math.max(0,Math.round((t-Date.now())/1000));e.textContent=Math.floor(s/60)+':'+('0'+s%60).slice(-2);if(s>0)setTimeout(f,1000)}f()})();
