// husky-relay console: the one script of our own. It draws the 24 h chart with uPlot from
// /ui/chart.json; everything else is htmx attributes in the pages. No inline script anywhere
// (the Content-Security-Policy allows scripts from /ui/assets/ only).
(function () {
  'use strict';
  var plot = null;
  function drawChart(el) {
    fetch(el.getAttribute('data-src'), { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (plot) {
          plot.setData([d.minutes, d.events, d.attempts]);
          return;
        }
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
        plot = new uPlot(opts, [d.minutes, d.events, d.attempts], el);
        el.setAttribute('data-drawn', String(d.minutes.length));
      })
      .catch(function (e) { el.textContent = 'chart unavailable: ' + e.message; });
  }
  function init() {
    var chart = document.getElementById('chart');
    if (!chart) return;
    drawChart(chart);
    // a new minute each minute: the counts of finished minutes come from the relay's cache
    setInterval(function () { drawChart(chart); }, 60000);
  }
  // A session that ended on the relay's side (a restart, 12 h without a request, a sign-out in
  // another tab): the lists' requests answer 401 and the live stream is sent to the sign-in
  // page. Go to the sign-in page, rather than leave a page that silently stops updating.
  function toSignIn() { window.location.assign('/ui/login'); }
  document.addEventListener('htmx:responseError', function (e) {
    if (e.detail && e.detail.xhr && e.detail.xhr.status === 401) toSignIn();
  });
  document.addEventListener('htmx:sseError', function () {
    fetch(window.location.pathname, { headers: { 'HX-Request': 'true' }, credentials: 'same-origin' })
      .then(function (r) { if (r.status === 401) toSignIn(); })
      .catch(function () { /* the relay is down: the stream retries by itself */ });
  });
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
