// husky-relay console: the one script of our own. It draws the 24 h chart with uPlot from
// /ui/chart.json; everything else is htmx attributes in the pages. No inline script anywhere
// (the Content-Security-Policy allows scripts from /ui/assets/ only).
(function () {
  'use strict';
  function drawChart(el) {
    fetch(el.getAttribute('data-src'), { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        el.textContent = '';
        var opts = {
          width: Math.max(320, el.clientWidth || 800),
          height: 220,
          series: [
            {},
            { label: 'events received', stroke: '#2b6cb0', width: 1.5 },
            { label: 'delivery attempts', stroke: '#c05621', width: 1.5 },
          ],
          axes: [{}, { label: 'per minute' }],
        };
        // eslint-disable-next-line no-undef
        new uPlot(opts, [d.minutes, d.events, d.attempts], el);
        el.setAttribute('data-drawn', String(d.minutes.length));
      })
      .catch(function (e) { el.textContent = 'chart unavailable: ' + e.message; });
  }
  function init() {
    var chart = document.getElementById('chart');
    if (chart) drawChart(chart);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
