// Ferry console: the few things htmx does not do by itself. No inline scripts (the CSP forbids them).
(function () {
  'use strict';

  // CSRF: every htmx request carries the session's token, as the forms do in a hidden field.
  document.addEventListener('htmx:configRequest', function (e) {
    var header = document.querySelector('meta[name="csrf-header"]');
    var token = document.querySelector('meta[name="csrf-token"]');
    if (header && token) { e.detail.headers[header.content] = token.content; }
  });

  // Times: in the browser's zone, with their age.
  var rel = typeof Intl !== 'undefined' && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, {numeric: 'auto'}) : null;
  function age(ms) {
    var s = Math.round((ms - Date.now()) / 1000), a = Math.abs(s);
    if (!rel) { return ''; }
    if (a < 60) { return rel.format(s, 'second'); }
    if (a < 3600) { return rel.format(Math.round(s / 60), 'minute'); }
    if (a < 86400) { return rel.format(Math.round(s / 3600), 'hour'); }
    return rel.format(Math.round(s / 86400), 'day');
  }
  function times(root) {
    (root || document).querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (isNaN(d)) { return; }
      t.textContent = d.toLocaleString() + ' (' + age(d.getTime()) + ')';
      t.title = t.getAttribute('datetime');
    });
  }

  // A date-time field in the browser's zone for an instant the server takes (a hidden field, in UTC).
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function instantFields() {
    document.querySelectorAll('input[data-instant-for]').forEach(function (local) {
      var hidden = document.getElementById(local.getAttribute('data-instant-for'));
      var d = hidden && hidden.value ? new Date(hidden.value) : null;
      if (d && !isNaN(d)) {
        local.value = d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + 'T'
          + two(d.getHours()) + ':' + two(d.getMinutes());
      }
      local.addEventListener('change', function () {
        var v = local.value ? new Date(local.value) : null;   // a datetime-local value is local time
        hidden.value = v && !isNaN(v) ? v.toISOString() : '';
      });
    });
  }

  function bytes(n) {
    if (n == null || isNaN(n)) { return '–'; }
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0, v = Math.abs(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (n < 0 ? '-' : '') + (i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)) + ' ' + u[i];
  }

  // Progress that runs backwards says why: remaining grew because the guest wrote pages already sent.
  var lastRemaining = {};
  function remember() {
    document.querySelectorAll('.progress[data-job]').forEach(function (p) {
      var r = parseFloat(p.getAttribute('data-remaining'));
      if (!isNaN(r)) { lastRemaining[p.getAttribute('data-job')] = r; }
    });
  }
  function explain() {
    document.querySelectorAll('.progress[data-job]').forEach(function (p) {
      var before = lastRemaining[p.getAttribute('data-job')];
      var now = parseFloat(p.getAttribute('data-remaining'));
      var note = p.querySelector('.redirtied');
      if (note && before != null && !isNaN(now) && now > before) {
        note.hidden = false;
        note.textContent = 're-dirtied: remaining grew by ' + bytes(now - before)
          + ' since the last update (the guest wrote pages already sent)';
      }
    });
  }

  // Job page: the action buttons follow the job's state as the live part re-renders.
  function actions() {
    var state = document.getElementById('job-actions-state');
    if (!state) { return; }
    var on = (state.getAttribute('data-actions') || '').split(',');
    var map = {cancel: 'cancel', postcopy: 'postcopy', forceComplete: 'force-complete', recover: 'recover'};
    Object.keys(map).forEach(function (k) {
      var b = document.getElementById(map[k]);
      if (b) { b.disabled = on.indexOf(k) < 0; }
    });
    var tune = on.indexOf('tune') >= 0;
    document.querySelectorAll('#tune input, #tune button').forEach(function (el) { el.disabled = !tune; });
  }

  // Job page: charts over time, from the event log's points, then one point per live update.
  var chart = null, faults = null, data = [[], [], [], [], []], faultData = [[], []];
  function chartSize(el) { return {width: Math.max(280, el.clientWidth - 2), height: 240}; }
  function setupCharts() {
    var el = document.getElementById('chart');
    if (!el || typeof uPlot === 'undefined') { return; }
    // t,remaining,transferred,rate,dirty,faultP99 per point; an empty figure is no point
    (el.getAttribute('data-history') || '').split(';').forEach(function (p) {
      if (!p) { return; }
      var v = p.split(',').map(function (x) { return x === '' || x == null ? null : Number(x); });
      data[0].push(v[0]); data[1].push(v[1]); data[2].push(v[2]); data[3].push(v[3]); data[4].push(v[4]);
      if (v[5] != null) { faultData[0].push(v[0]); faultData[1].push(v[5]); }
    });
    var size = chartSize(el);
    var axisBytes = function (u, vals) { return vals.map(bytes); };
    chart = new uPlot({
      width: size.width, height: size.height,
      series: [{}, {label: 'remaining', stroke: '#b3261e', value: function (u, v) { return bytes(v); }},
        {label: 'transferred', stroke: '#1f5fbf', value: function (u, v) { return bytes(v); }},
        {label: 'rate /s', stroke: '#1c7c3c', scale: 'rate', value: function (u, v) { return bytes(v); }},
        {label: 'dirty /s', stroke: '#9a6700', scale: 'rate', value: function (u, v) { return bytes(v); }}],
      axes: [{}, {values: axisBytes, size: 70}, {side: 1, scale: 'rate', values: axisBytes, size: 70, grid: {show: false}}]
    }, data, el);
    var fel = document.getElementById('chart-faults');
    faults = new uPlot({
      width: size.width, height: 160,
      series: [{}, {label: 'post-copy fault latency p99 (ms)', stroke: '#7a3db8'}],
      axes: [{}, {size: 60}]
    }, faultData, fel);
    el.setAttribute('data-points', data[0].length);
    fel.setAttribute('data-points', faultData[0].length);
    window.addEventListener('resize', function () {
      var s = chartSize(el);
      chart.setSize({width: s.width, height: s.height});
      faults.setSize({width: s.width, height: 160});
    });
  }
  function sample() {
    var s = document.getElementById('sample');
    var el = document.getElementById('chart');
    if (!s || !chart) { return; }
    var t = parseFloat(s.getAttribute('data-t'));
    if (data[0].length && t <= data[0][data[0].length - 1]) { return; }
    var num = function (a) { var v = parseFloat(s.getAttribute(a)); return isNaN(v) ? null : v; };
    data[0].push(t); data[1].push(num('data-remaining')); data[2].push(num('data-transferred'));
    data[3].push(num('data-rate')); data[4].push(num('data-dirty'));
    chart.setData(data);
    var f = num('data-fault');
    if (f != null) {
      faultData[0].push(t); faultData[1].push(f); faults.setData(faultData);
      document.getElementById('chart-faults').setAttribute('data-points', faultData[0].length);
    }
    el.setAttribute('data-points', data[0].length);
  }

  // Live parts: each page names the events it follows on a hidden .live-feed element, and its
  // live part re-renders at most once per gap, always after the last event of a burst (htmx's own
  // throttle drops the events that fall inside its window, so a page could miss the final state).
  // A burst's refresh may read the records a moment before the burst's last change is committed,
  // and a stream that reconnects has missed what happened meanwhile (it starts "now"): so each
  // burst ends with one more refresh a little later, and a reopened stream refreshes every part.
  var TRAILING_MS = 1500;
  var refreshes = {};
  function refreshSoon(id, gap) {
    var r = refreshes[id] || (refreshes[id] = {last: 0, timer: null, trailing: null});
    if (r.trailing) { clearTimeout(r.trailing); r.trailing = null; }
    if (r.timer) { return; }
    r.timer = setTimeout(function () {
      r.timer = null;
      r.last = Date.now();
      refreshNow(id);
      r.trailing = setTimeout(function () { r.trailing = null; refreshNow(id); }, TRAILING_MS);
    }, Math.max(0, r.last + gap - Date.now()));
  }
  function refreshNow(id) {
    var target = document.getElementById(id);
    if (target && window.htmx) { htmx.trigger(target, 'refresh'); }
  }
  var streamOpened = false;
  function streamOpen() {
    if (streamOpened) {
      document.querySelectorAll('.live-feed').forEach(function (feed) {
        refreshSoon(feed.getAttribute('data-refresh'), parseInt(feed.getAttribute('data-gap-ms'), 10) || 500);
      });
    }
    streamOpened = true;
  }
  function liveFeeds() {
    document.querySelectorAll('.live-feed').forEach(function (feed) {
      var id = feed.getAttribute('data-refresh'), gap = parseInt(feed.getAttribute('data-gap-ms'), 10) || 500;
      (feed.getAttribute('hx-trigger') || '').split(',').forEach(function (t) {
        var name = t.trim();
        if (name) { feed.addEventListener(name, function () { refreshSoon(id, gap); }); }
      });
    });
  }

  function dialogs(root) {
    (root || document).querySelectorAll('[data-open-dialog]').forEach(function (b) {
      b.addEventListener('click', function () { document.getElementById(b.getAttribute('data-open-dialog')).showModal(); });
    });
    (root || document).querySelectorAll('[data-close-dialog]').forEach(function (b) {
      b.addEventListener('click', function () { document.getElementById(b.getAttribute('data-close-dialog')).close(); });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    times(); dialogs(); instantFields(); liveFeeds(); actions(); setupCharts(); sample(); remember();
    setInterval(function () { times(); }, 30000);
  });
  document.addEventListener('htmx:beforeSwap', remember);
  document.addEventListener('htmx:afterSettle', function (e) {
    times(e.target); explain(); actions(); sample(); remember();
  });
  document.addEventListener('htmx:sseOpen', function () {
    var d = document.getElementById('live-state'); if (d) { d.classList.add('on'); d.title = 'live'; }
    streamOpen();
  });
  document.addEventListener('htmx:sseError', function () {
    var d = document.getElementById('live-state'); if (d) { d.classList.remove('on'); d.title = 'reconnecting'; }
  });
})();
