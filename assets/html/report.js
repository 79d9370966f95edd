// pyslim's HTML report: draws the data embedded in the page (no network, no library).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pyslim-data").textContent);
  var $ = function (id) { return document.getElementById(id); };
  function size(b) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return (i ? b.toFixed(2) : String(b)) + " " + u[i];
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Which finding category claims a path (its items are paths or packages).
  var claims = [];
  data.findings.forEach(function (f) {
    f.items.forEach(function (i) { claims.push([i.name, f.category]); });
  });
  function categoryOf(path) {
    for (var i = 0; i < claims.length; i++) {
      var p = claims[i][0];
      if (path === p || path.indexOf(p + "/") === 0) return claims[i][1];
    }
    return null;
  }
  var categories = [];
  data.findings.forEach(function (f) { if (categories.indexOf(f.category) < 0) categories.push(f.category); });
  function hue(i, n) { return Math.round(360 * i / Math.max(n, 1)); }
  var colourBy = "layer", query = "", root = data.tree, trail = [];

  // Squarified treemap (Bruls, Huizing, van Wijk): rows whose worst aspect ratio stops improving.
  function squarify(items, x, y, w, h, out) {
    var total = items.reduce(function (s, c) { return s + c.b; }, 0);
    if (!total || w <= 0 || h <= 0) return;
    var scale = w * h / total, rest = items.slice();
    while (rest.length) {
      var side = Math.min(w, h), row = [], sum = 0, worst = Infinity;
      while (rest.length) {
        var next = rest[0], s2 = sum + next.b * scale;
        var rmax = Math.max.apply(null, row.map(function (c) { return c.b * scale; }).concat([next.b * scale]));
        var rmin = Math.min.apply(null, row.map(function (c) { return c.b * scale; }).concat([next.b * scale]));
        var wr = Math.max(side * side * rmax / (s2 * s2), (s2 * s2) / (side * side * rmin));
        if (wr > worst) break;
        worst = wr; sum = s2; row.push(rest.shift());
      }
      var thick = sum / side, off = 0;
      row.forEach(function (c) {
        var len = c.b * scale / thick;
        if (w >= h) out.push([c, x, y + off, thick, len]); else out.push([c, x + off, y, len, thick]);
        off += len;
      });
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
  }
  // Boxes nest: a directory big enough shows its own children inside it, under its name.
  function drawBoxes(box, node, x, y, w, h, depth) {
    var kids = (node.c || []).filter(function (c) { return c.b > 0; });
    var rects = [];
    squarify(kids, x, y, w, h, rects);
    rects.forEach(function (r) {
      var n = r[0], d = el("div", { "class": "tm-box", title: "/" + n.p + "  " + size(n.b) });
      d.style.left = r[1] + "px"; d.style.top = r[2] + "px";
      d.style.width = Math.max(r[3] - 1, 0) + "px"; d.style.height = Math.max(r[4] - 1, 0) + "px";
      var cat = categoryOf(n.p);
      var light = 62 + 8 * depth;
      if (colourBy === "layer") d.style.background = "hsl(" + hue(n.l, data.layers.length) + ",55%," + light + "%)";
      else d.style.background = cat ? "hsl(" + hue(categories.indexOf(cat), categories.length) + ",70%," + (light - 8) + "%)" : "hsl(0,0%," + (light + 10) + "%)";
      if (query && n.p.indexOf(query) < 0) d.style.opacity = "0.35";
      if (r[3] > 60 && r[4] > 14) d.appendChild(el("span", { "class": "tm-label" }, n.n + " " + size(n.b)));
      if (n.c && n.c.length) d.addEventListener("click", function (e) { e.stopPropagation(); trail.push(root); root = n; drawAll(); });
      box.appendChild(d);
      if (depth < 2 && n.c && n.c.length && r[3] > 40 && r[4] > 40) drawBoxes(d, n, 1, 15, r[3] - 4, r[4] - 18, depth + 1);
    });
  }
  function drawTreemap() {
    var box = $("treemap");
    box.textContent = "";
    drawBoxes(box, root, 0, 0, box.clientWidth, box.clientHeight, 0);
    $("crumbs").textContent = "/" + (root.p || "") + "  (" + size(root.b) + ")" + (trail.length ? "  — click Up to zoom out" : "  — click a box to zoom in");
    $("up").disabled = !trail.length;
  }
  function drawLayers() {
    var max = Math.max.apply(null, data.layers.map(function (l) { return l.content_bytes; }).concat([1]));
    var t = $("layers"); t.textContent = "";
    data.layers.forEach(function (l) {
      var row = el("div", { "class": "layer" });
      var bar = el("span", { "class": "bar" });
      bar.style.width = (100 * l.content_bytes / max) + "%";
      bar.style.background = "hsl(" + hue(l.index, data.layers.length) + ",55%,60%)";
      var waste = el("span", { "class": "waste" });
      waste.style.width = (100 * l.wasted_bytes / max) + "%";
      row.appendChild(el("span", { "class": "num" }, String(l.index)));
      var track = el("span", { "class": "track" }); track.appendChild(bar); track.appendChild(waste);
      row.appendChild(track);
      row.appendChild(el("span", { "class": "sz" }, size(l.content_bytes) + (l.wasted_bytes ? " (" + size(l.wasted_bytes) + " wasted)" : "")));
      row.appendChild(el("code", {}, l.instruction));
      t.appendChild(row);
    });
  }
  function drawFiles() {
    var t = $("files"); t.textContent = "";
    data.largest_files.forEach(function (f) {
      if (query && f.path.indexOf(query) < 0) return;
      var tr = el("tr");
      tr.appendChild(el("td", { "class": "r" }, size(f.bytes)));
      tr.appendChild(el("td", { "class": "r" }, String(f.layer)));
      tr.appendChild(el("td", {}, "/" + f.path));
      t.appendChild(tr);
    });
  }
  function drawFindings() {
    var t = $("findings"); t.textContent = "";
    data.findings.forEach(function (f) {
      var items = f.items.filter(function (i) { return !query || i.name.indexOf(query) >= 0; });
      if (query && !items.length) return;
      var d = el("details", { "class": "finding sev-" + f.severity });
      d.appendChild(el("summary", {}, "[" + f.severity + "] " + f.title + (f.bytes ? " — " + size(f.bytes) : "")));
      d.appendChild(el("p", {}, f.summary));
      d.appendChild(el("p", {}, "Why: " + f.why));
      d.appendChild(el("p", {}, "Fix: " + f.fix));
      var ul = el("ul");
      items.forEach(function (i) { ul.appendChild(el("li", {}, (i.bytes ? size(i.bytes) + "  " : "") + i.name + (i.note ? " (" + i.note + ")" : ""))); });
      d.appendChild(ul);
      t.appendChild(d);
    });
  }
  function drawAll() { drawTreemap(); drawFiles(); drawFindings(); }
  $("up").addEventListener("click", function () { if (trail.length) { root = trail.pop(); drawAll(); } });
  $("colour").addEventListener("change", function (e) { colourBy = e.target.value; drawTreemap(); });
  $("search").addEventListener("input", function (e) { query = e.target.value.replace(/^\//, ""); drawAll(); });
  window.addEventListener("resize", drawTreemap);
  drawLayers();
  drawAll();
})();
