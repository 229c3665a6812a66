// The case's diagram in bpmn-js's NavigatedViewer (served from node_modules), current step highlighted.
(function () {
  var box = document.getElementById("diagram");
  if (!box || typeof BpmnJS === "undefined") return;
  fetch(box.getAttribute("data-src"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
    .then(function (found) {
      var viewer = new BpmnJS({ container: box });
      return viewer.importXML(found.xml).then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        found.completed.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "highlight-done"); });
        found.current.forEach(function (id) {
          if (registry.get(id)) { canvas.removeMarker(id, "highlight-done"); canvas.addMarker(id, "highlight-current"); }
        });
        canvas.zoom("fit-viewport");
        box.setAttribute("data-rendered", found.current.join(" "));
      });
    })
    .catch(function () { box.textContent = box.getAttribute("data-error"); box.setAttribute("data-rendered", "error"); });
})();
