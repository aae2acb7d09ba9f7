// LISA pages: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // A search box that filters the options of a select (the category picker).
  function categorySearch() {
    document.querySelectorAll("input[data-filters]").forEach(function (box) {
      var select = document.getElementById(box.dataset.filters);
      if (!select) { return; }
      box.addEventListener("input", function () {
        var words = box.value.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").split(/\s+/);
        var first = null;
        Array.prototype.forEach.call(select.options, function (option) {
          var text = option.text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
          var match = words.every(function (w) { return text.indexOf(w) !== -1; });
          option.hidden = !match;
          if (match && first === null) { first = option; }
        });
        if (first && (select.selectedIndex < 0 || select.options[select.selectedIndex].hidden)) {
          first.selected = true;
          select.dispatchEvent(new Event("change", { bubbles: true }));
        }
      });
    });
  }

  // Leaflet maps: tiles only if a tile URL is configured; pins work either way.
  var TULIPE = [50.8336, 4.3700];
  function maps() {
    if (typeof L === "undefined") { return; }
    document.querySelectorAll(".map").forEach(function (element) {
      var map = L.map(element, { keyboard: true }).setView(TULIPE, 16);
      if (element.dataset.tiles) {
        L.tileLayer(element.dataset.tiles, { maxZoom: 19, attribution: element.dataset.attribution || "" }).addTo(map);
      }
      if (element.dataset.points) {
        var points = JSON.parse(element.dataset.points);
        var line = [];
        points.forEach(function (p) {
          var icon = L.divIcon({ className: "route-marker", html: String(p.order), iconSize: [24, 24] });
          L.marker([p.lat, p.lon], { icon: icon, title: p.order + ". " + p.label, alt: p.order + ". " + p.label }).addTo(map);
          line.push([p.lat, p.lon]);
        });
        if (line.length > 1) { L.polyline(line).addTo(map); }
        if (line.length) { map.fitBounds(line, { padding: [30, 30], maxZoom: 17 }); }
      }
      if (element.dataset.pick) {
        var lat = document.getElementById("location-lat"), lon = document.getElementById("location-lon");
        var marker = null;
        var place = function (latlng) {
          if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
        };
        if (lat && lon && lat.value && lon.value && !isNaN(+lat.value) && !isNaN(+lon.value)) {
          place([+lat.value, +lon.value]); map.setView([+lat.value, +lon.value], 17);
        }
        map.on("click", function (event) {
          place(event.latlng);
          lat.value = event.latlng.lat.toFixed(6);
          lon.value = event.latlng.lng.toFixed(6);
          lat.dispatchEvent(new Event("change", { bubbles: true }));
        });
      }
    });
  }

  function printing() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  function redoc() {
    var element = document.getElementById("redoc");
    if (element && typeof Redoc !== "undefined") {
      // Darker status colours than ReDoc's defaults: WCAG AA contrast on their light panels.
      Redoc.init(element.dataset.spec, {
        hideDownloadButton: false,
        theme: { colors: {
          success: { main: "#1a6b32" }, error: { main: "#a4161a" },
          warning: { main: "#7a4b00" }, text: { primary: "#1b1f24" },
          responses: {
            success: { color: "#14532a", backgroundColor: "#e3f4e8", tabTextColor: "#b9f6ca" },
            error: { color: "#8a1216", backgroundColor: "#fbe9ea", tabTextColor: "#ffcdd2" },
            redirect: { color: "#6b4200", backgroundColor: "#fdf1dd", tabTextColor: "#ffe0b2" },
            info: { color: "#0b3d6b", backgroundColor: "#e5eff9", tabTextColor: "#bbdefb" } } },
          typography: { code: { color: "#8a1216", backgroundColor: "#f3f4f6" } } }
      }, element);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    categorySearch(); maps(); printing(); redoc();
  });
})();
