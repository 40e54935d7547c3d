// Small enhancements; every page works without them.
// - tier checkboxes show or hide dots of the strength/balance chart
// - hovering a tie to deepen highlights its dot, and the other way round
(function () {
  "use strict";
  function points() { return document.querySelectorAll("svg.scatter a.point"); }

  function applyFilters() {
    var shown = {};
    document.querySelectorAll("input.tier-filter").forEach(function (box) { shown[box.value] = box.checked; });
    points().forEach(function (p) {
      var tier = p.getAttribute("data-tier");
      p.classList.toggle("hidden", shown[tier] === false);
    });
  }

  function link(person, on) {
    document.querySelectorAll('[data-person="' + person + '"]').forEach(function (el) {
      el.classList.toggle("hover", on);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input.tier-filter").forEach(function (box) {
      box.addEventListener("change", applyFilters);
    });
    document.querySelectorAll("ol.deepen li, svg.scatter a.point").forEach(function (el) {
      var person = el.getAttribute("data-person");
      el.addEventListener("mouseenter", function () { link(person, true); });
      el.addEventListener("mouseleave", function () { link(person, false); });
    });
    document.body.setAttribute("data-ready", "1");
  });
})();
