// Replay of one instance on its own diagram (bpmn-js NavigatedViewer from node_modules): the path taken so
// far, how often each element was entered, and the state after each event, stepped with buttons or a slider.
(function () {
  var root = document.getElementById("replay");
  var box = document.getElementById("replay-diagram");
  if (!root || !box || typeof BpmnJS === "undefined") return;
  var labels = JSON.parse(root.getAttribute("data-labels") || "{}");
  var slider = document.getElementById("replay-slider");
  var position = document.getElementById("replay-position");
  var MARKERS = ["replay-visited", "replay-active", "replay-waiting", "replay-event", "replay-flow"];

  function text(node, value) { node.textContent = value === null || value === undefined || value === "" ? labels.none : value; }

  function list(node, items) {
    node.innerHTML = "";
    if (!items.length) items = [labels.none];
    items.forEach(function (item) { var li = document.createElement("li"); li.textContent = item; node.appendChild(li); });
  }

  function start(found) {
    var viewer = new BpmnJS({ container: box });
    return viewer.importXML(found.xml).then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var overlays = viewer.get("overlays");
      var steps = found.steps;
      var marked = [];
      var current = -1;

      function name(id) {
        var element = registry.get(id);
        return (element && element.businessObject && element.businessObject.name) || id;
      }

      function mark(id, marker) {
        if (!registry.get(id)) return;
        canvas.addMarker(id, marker);
        marked.push([id, marker]);
      }

      // Gateways' recorded choices up to a step, so only the flows actually taken are drawn as the path.
      function takenUpTo(index) {
        var taken = {};
        for (var k = 0; k <= index; k++) {
          var event = steps[k].event;
          if (event.kind === "gateway_taken" && event.element_id) {
            taken[event.element_id] = (taken[event.element_id] || []).concat(event.taken || []);
          }
        }
        return taken;
      }

      function show(index) {
        index = Math.max(0, Math.min(steps.length - 1, index));
        var step = steps[index];
        current = index;
        marked.forEach(function (pair) { canvas.removeMarker(pair[0], pair[1]); });
        marked = [];
        overlays.remove({ type: "replay-visits" });

        var timers = step.waiting_timers.map(function (t) { return t.element_id; });
        var active = step.active.filter(function (id) { return timers.indexOf(id) < 0; });
        var visited = {};
        step.completed.forEach(function (id) { visited[id] = true; });
        Object.keys(step.visits).forEach(function (id) { visited[id] = true; });
        var reached = {};
        Object.keys(visited).concat(active).forEach(function (id) { reached[id] = true; });
        Object.keys(visited).forEach(function (id) { mark(id, "replay-visited"); });
        var taken = takenUpTo(index);
        registry.filter(function (e) { return e.type === "bpmn:SequenceFlow"; }).forEach(function (flow) {
          var from = flow.source && flow.source.id, to = flow.target && flow.target.id;
          if (!visited[from] || !reached[to]) return;
          if (taken[from] && taken[from].indexOf(to) < 0) return;
          mark(flow.id, "replay-flow");
        });
        active.forEach(function (id) { mark(id, "replay-active"); });
        timers.forEach(function (id) { mark(id, "replay-waiting"); });
        if (step.event.element_id) mark(step.event.element_id, "replay-event");
        Object.keys(step.visits).forEach(function (id) {
          if (step.visits[id] > 1 && registry.get(id)) {
            overlays.add(id, "replay-visits", { position: { top: -10, right: 10 },
              html: '<span class="visit-count" data-element="' + id + '">×' + step.visits[id] + "</span>" });
          }
        });

        var event = step.event;
        var fields = {};
        Array.prototype.forEach.call(document.querySelectorAll("#replay-event [data-field]"), function (node) {
          fields[node.getAttribute("data-field")] = node;
        });
        text(fields.seq, String(event.seq));
        text(fields.kind, event.kind_name);
        text(fields.name, event.name || (event.element_id ? name(event.element_id) : ""));
        text(fields.actor, event.actor);
        text(fields.at, step.at_text);
        text(fields.status, labels.status[step.status] || step.status);
        list(document.getElementById("replay-ready"), step.ready.map(name));
        list(document.getElementById("replay-timers"), step.waiting_timers.map(function (t) {
          return name(t.element_id) + " · " + t.due_text;
        }));
        var data = document.getElementById("replay-data");
        data.innerHTML = "";
        step.data.forEach(function (pair) {
          var dt = document.createElement("dt"), dd = document.createElement("dd");
          dt.textContent = pair[0]; dd.textContent = pair[1];
          data.appendChild(dt); data.appendChild(dd);
        });
        var divergence = document.getElementById("replay-divergence");
        divergence.hidden = !step.divergence;
        divergence.textContent = step.divergence ? labels.diverges + " " + step.divergence.message : "";

        slider.value = String(index);
        position.textContent = (index + 1) + " / " + steps.length;
        root.setAttribute("data-step", String(index));
        root.setAttribute("data-seq", String(event.seq));
        root.setAttribute("data-active", active.join(" "));
        root.setAttribute("data-visited", Object.keys(visited).sort().join(" "));
        Array.prototype.forEach.call(root.querySelectorAll("[data-go=first], [data-go=back]"), function (b) {
          b.disabled = index === 0;
        });
        Array.prototype.forEach.call(root.querySelectorAll("[data-go=forward], [data-go=last]"), function (b) {
          b.disabled = index === steps.length - 1;
        });
      }

      var moves = {
        first: function () { return 0; }, back: function () { return current - 1; },
        forward: function () { return current + 1; }, last: function () { return steps.length - 1; }
      };
      Array.prototype.forEach.call(root.querySelectorAll("[data-go]"), function (button) {
        button.addEventListener("click", function () { show(moves[button.getAttribute("data-go")]()); });
      });
      slider.max = String(Math.max(0, steps.length - 1));
      slider.disabled = steps.length < 2;
      slider.addEventListener("input", function () { show(parseInt(slider.value, 10)); });
      document.addEventListener("keydown", function (e) {
        if (e.target && /^(INPUT|SELECT|TEXTAREA)$/.test(e.target.tagName)) return;
        if (e.key === "ArrowRight") show(current + 1);
        if (e.key === "ArrowLeft") show(current - 1);
      });
      canvas.zoom("fit-viewport");
      if (steps.length) show(steps.length - 1);
      box.setAttribute("data-rendered", String(steps.length));
    });
  }

  fetch(box.getAttribute("data-src"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
    .then(start)
    .catch(function () { box.textContent = box.getAttribute("data-error"); box.setAttribute("data-rendered", "error"); });
})();
