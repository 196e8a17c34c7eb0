(function () {
  "use strict";
  var d = document, f = d.getElementById("filters");
  if (!f) { return; }
  var all = function (sel, root) { return Array.prototype.slice.call((root || d).querySelectorAll(sel)); };
  var rows = all("tr.item"), groups = all("tbody.clause"), boxes = all("input[name=verdict]", f);
  var side = d.getElementById("f-side"), text = d.getElementById("f-text"), shown = d.getElementById("f-shown");
  function apply() {
    var on = {}, s = side.value, t = text.value.trim().toLowerCase(), n = 0;
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    rows.forEach(function (r) {
      var head = r.parentNode.rows[0].textContent;
      var ok = on[r.dataset.verdict] && (!s || r.dataset.side === s) &&
        (!t || (head + " " + r.textContent).toLowerCase().indexOf(t) >= 0);
      r.hidden = !ok;
      if (ok) { n++; }
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector("tr.item:not([hidden])"); });
    shown.value = n + " / " + rows.length + " 检测项 items shown";
  }
  function only(v) {
    boxes.forEach(function (b) { b.checked = !v || b.value === v; });
    apply();
  }
  function openAll(open) { all("details").forEach(function (x) { x.open = open; }); }
  f.addEventListener("input", apply);
  f.addEventListener("change", apply);
  all("button[data-only]", f).forEach(function (b) {
    b.addEventListener("click", function () { only(b.dataset.only); });
  });
  d.getElementById("f-expand").addEventListener("click", function () { openAll(true); });
  d.getElementById("f-collapse").addEventListener("click", function () { openAll(false); });
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = all("details:not([open])");
    closed.forEach(function (x) { x.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (x) { x.open = false; });
    closed = [];
  });
  f.hidden = false;
  apply();
})();
