// The process owners' modeler (bpmn-js Modeler from node_modules, no bundler) with opsflow's own
// properties panel, and the version diff drawn on a diagram. The server checks everything again:
// this file only edits, shows problems where they are, and posts with the page's CSRF token.
(function () {
  "use strict";

  var BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL";
  var PROCESS_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,199}$/;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function emptyDiagram(processId) {
    return '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<bpmn:definitions xmlns:bpmn="' + BPMN_NS + '" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" ' +
      'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" ' +
      'id="definitions_' + processId + '" targetNamespace="http://bpmn.io/schema/bpmn">\n' +
      '  <bpmn:process id="' + processId + '" isExecutable="true">\n' +
      '    <bpmn:startEvent id="start"/>\n' +
      '  </bpmn:process>\n' +
      '  <bpmndi:BPMNDiagram id="diagram_' + processId + '">\n' +
      '    <bpmndi:BPMNPlane id="plane_' + processId + '" bpmnElement="' + processId + '">\n' +
      '      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36"/></bpmndi:BPMNShape>\n' +
      '    </bpmndi:BPMNPlane>\n' +
      '  </bpmndi:BPMNDiagram>\n' +
      '</bpmn:definitions>\n';
  }

  // bpmn-js words its palette, context pad and menus through its `translate` service; this one looks the
  // English template up in the page's dictionary (app/modeler/bpmn_texts.py; empty on English pages)
  function translateModule() {
    var found = document.getElementById("bpmn-js-texts");
    var texts = found ? JSON.parse(found.textContent) : {};
    function translate(template, replacements) {
      replacements = replacements || {};
      return (texts[template] || template).replace(/{([^}]+)}/g, function (match, key) {
        return Object.prototype.hasOwnProperty.call(replacements, key) ? replacements[key] : match;
      });
    }
    return { translate: ["value", translate] };
  }

  // --- the editor ---------------------------------------------------------------------------------

  function startEditor(box, cfg) {
    var T = cfg.text;
    var statusLine = document.getElementById("status");
    var problemBox = document.getElementById("problems");
    var dirty = false;
    var selected = null;
    var marked = [];

    function say(message, kind, link) {
      statusLine.textContent = "";
      statusLine.className = "modeler-status" + (kind ? " " + kind : "");
      statusLine.appendChild(document.createTextNode(message));
      if (link) {
        statusLine.appendChild(document.createTextNode(" "));
        statusLine.appendChild(el("a", { href: link.href }, link.text));
      }
    }

    function loadDescriptor() {
      if (!cfg.editable) return Promise.resolve(null);
      return fetch(cfg.urls.camunda, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) throw new Error("camunda moddle " + response.status);
        return response.json();
      });
    }

    loadDescriptor().then(function (camunda) {
      var options = { container: document.getElementById("canvas"), additionalModules: [translateModule()] };
      if (camunda) options.moddleExtensions = { camunda: camunda };
      var modeler = new BpmnJS(options);
      window.opsflowModeler = modeler;  // for the browser tests and the curious
      var canvas = modeler.get("canvas");
      var registry = modeler.get("elementRegistry");
      var eventBus = modeler.get("eventBus");
      var overlays = modeler.get("overlays");

      function processId() {
        if (!cfg.is_new) return cfg.process_id;
        var root = canvas.getRootElement();
        var bo = root && root.businessObject;
        if (!bo) return null;
        if (bo.$type === "bpmn:Collaboration") {
          var withProcess = (bo.participants || []).filter(function (p) { return p.processRef; })[0];
          return withProcess ? withProcess.processRef.id : null;
        }
        return bo.id;
      }

      function url(name) {
        return cfg.urls[name].replace("__PID__", encodeURIComponent(processId() || ""));
      }

      function openXml(xml, fromFile) {
        return modeler.importXML(xml).then(function () {
          canvas.zoom("fit-viewport", "auto");
          clearProblems();
          selected = null;
          dirty = !!fromFile;
          if (panel) panel.render();
          box.setAttribute("data-ready", "1");
        });
      }

      // problems: a red marker on each element at fault, its messages beside it, and the list below
      function clearProblems() {
        overlays.remove({ type: "problem" });
        marked.forEach(function (id) { if (registry.get(id)) canvas.removeMarker(id, "has-problem"); });
        marked = [];
        if (problemBox) {
          problemBox.hidden = true;
          problemBox.querySelector("ul").textContent = "";
        }
      }

      function showProblems(problems) {
        clearProblems();
        var list = problemBox.querySelector("ul");
        var byElement = {};
        problems.forEach(function (problem) {
          var item = el("li");
          var found = problem.element_id && registry.get(problem.element_id);
          item.appendChild(el("code", { translate: "no" }, problem.element_id || T.whole_diagram));
          item.appendChild(document.createTextNode(" "));
          item.appendChild(el("span", {}, problem.message));  // in the page's language (app/modeler/problems.py)
          if (found) {
            item.setAttribute("data-element", problem.element_id);
            item.className = "locatable";
            item.addEventListener("click", function () {
              var target = registry.get(problem.element_id);
              if (!target) return;
              if (cfg.editable) modeler.get("selection").select(target);
              canvas.scrollToElement(target);
            });
            (byElement[problem.element_id] = byElement[problem.element_id] || []).push(problem.message);
          }
          list.appendChild(item);
        });
        Object.keys(byElement).forEach(function (id) {
          canvas.addMarker(id, "has-problem");
          marked.push(id);
          var note = el("div", { "class": "problem-note", "data-element": id });
          byElement[id].forEach(function (message) { note.appendChild(el("p", {}, message)); });
          // never smaller than text can be read, however far the diagram is zoomed out
          overlays.add(id, "problem", { position: { bottom: -6, left: 0 }, html: note, scale: { min: 1 } });
        });
        if (marked.length) canvas.scrollToElement(registry.get(marked[0]));
        problemBox.hidden = problems.length === 0;
        box.setAttribute("data-problems", String(problems.length));
      }

      // the page head names the version now deployed; notices about drafts and older versions no longer hold
      function showDeployedVersion(deployed) {
        var badge = document.getElementById("version-badge");
        badge.textContent = T.version.replace("{num}", deployed.version);
        badge.className = "badge";
        badge.hidden = false;
        Array.prototype.forEach.call(document.querySelectorAll(".stale-after-deploy"), function (node) { node.remove(); });
        var name = document.getElementById("page-name");
        if (name.querySelector("[translate=no]") === null) {
          name.textContent = "";
          name.appendChild(el("span", { translate: "no" }, deployed.process_id));
        }
      }

      function currentXml() {
        return modeler.saveXML({ format: true }).then(function (result) { return result.xml; });
      }

      function refused(reply) {
        var data = reply.data || {};
        if (data.problems && data.problems.length) {
          showProblems(data.problems);
          return true;
        }
        var detail = data.message || String(reply.status);
        if (data.field_errors) {
          detail = Object.keys(data.field_errors).map(function (k) { return k + ": " + data.field_errors[k].join(" "); })
            .join("; ") || detail;
        }
        say(T.refused + " " + detail, "error");
        return false;
      }

      function busy(button, promise) {
        if (button) button.disabled = true;
        say(T.working, "");
        return promise.catch(function () { say(T.failed, "error"); })
          .then(function () { if (button) button.disabled = false; });
      }

      function needProcessId() {
        var id = processId();
        if (!id || !PROCESS_ID.test(id)) { say(T.no_process_id, "error"); return false; }
        return true;
      }

      // toolbar
      document.getElementById("download").addEventListener("click", function () {
        currentXml().then(function (xml) {
          var link = el("a", { href: URL.createObjectURL(new Blob([xml], { type: "application/xml" })),
                               download: (processId() || "diagram") + ".bpmn" });
          document.body.appendChild(link);
          link.click();
          setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
        });
      });

      var panel = null;
      if (cfg.editable) {
        var upload = document.getElementById("upload");
        upload.addEventListener("change", function () {
          var file = upload.files[0];
          upload.value = "";
          if (!file) return;
          if (file.size > cfg.max_bytes) { say(T.too_big.replace("{size}", cfg.max_bytes), "error"); return; }
          file.text().then(function (xml) { return openXml(xml, true); })
            .then(function () { say(file.name, ""); })
            .catch(function (error) { say(T.not_bpmn + " " + (error && error.message ? error.message : ""), "error"); });
        });

        var saveButton = document.getElementById("save-draft");
        saveButton.addEventListener("click", function () {
          if (!needProcessId()) return;
          busy(saveButton, currentXml().then(function (xml) {
            return postJson(url("draft"), { xml: xml, base_version: cfg.version });
          }).then(function (reply) {
            if (reply.ok) { dirty = false; say(T.draft_saved, "ok"); box.setAttribute("data-draft-saved", reply.data.saved_at); }
            else if (refused(reply)) say(T.not_checked, "error");
          }));
        });

        var validateButton = document.getElementById("validate");
        validateButton.addEventListener("click", function () {
          if (!needProcessId()) return;
          busy(validateButton, currentXml().then(function (xml) {
            return postJson(url("validate"), { xml: xml });
          }).then(function (reply) {
            if (!reply.ok) { refused(reply); return; }
            if (reply.data.valid) { clearProblems(); say(T.valid, "ok"); box.setAttribute("data-problems", "0"); }
            else { showProblems(reply.data.problems); say(T.invalid, "error"); }
          }));
        });

        var deployButton = document.getElementById("deploy");
        var comment = document.getElementById("deploy-comment");
        deployButton.addEventListener("click", function () {
          if (!needProcessId()) return;
          if (!comment.value.trim()) { say(T.comment_needed, "error"); comment.focus(); return; }
          busy(deployButton, currentXml().then(function (xml) {
            return postJson(url("deploy"), { xml: xml, comment: comment.value.trim() });
          }).then(function (reply) {
            if (!reply.ok) { if (refused(reply)) say(T.invalid, "error"); return; }
            clearProblems();
            dirty = false;
            comment.value = "";
            cfg.version = cfg.newest_version = reply.data.version;
            if (cfg.is_new) {
              cfg.process_id = reply.data.process_id;
              cfg.is_new = false;
              document.getElementById("p-process-id").readOnly = true;
              history.replaceState(null, "", reply.data.modeler_url);
            }
            showDeployedVersion(reply.data);
            say(T.deployed.replace("{version}", reply.data.version), "ok", { href: reply.data.versions_url, text: T.versions });
            box.setAttribute("data-deployed", String(reply.data.version));
          }));
        });

        eventBus.on("commandStack.changed", function () { dirty = true; });
        window.addEventListener("beforeunload", function (event) {
          if (dirty) { event.preventDefault(); event.returnValue = T.unsaved; }
        });
        panel = propertiesPanel(modeler, cfg, function () { return selected; });
        eventBus.on("selection.changed", function (event) {
          selected = event.newSelection.length === 1 ? event.newSelection[0] : null;
          panel.render();
        });
        eventBus.on("elements.changed", function () { panel.render(); });
      }

      var xml = cfg.xml || emptyDiagram(cfg.process_id || "new_process");
      return openXml(xml, false);
    }).catch(function (error) {
      box.setAttribute("data-ready", "error");
      say(T.not_bpmn + " " + (error && error.message ? error.message : ""), "error");
    });
  }

  // --- the properties panel -----------------------------------------------------------------------

  function propertiesPanel(modeler, cfg, getSelected) {
    var T = cfg.text;
    var canvas = modeler.get("canvas");
    var modeling = modeler.get("modeling");
    var bpmnFactory = modeler.get("bpmnFactory");
    var aside = document.getElementById("properties");
    var field = function (id) { return document.getElementById(id); };
    var TIMER_KINDS = ["timeDate", "timeDuration", "timeCycle"];

    function current() {
      var element = getSelected() || canvas.getRootElement();
      if (element && element.type === "label") element = element.labelTarget;
      return element;
    }

    function is(bo, type) { return bo && typeof bo.$instanceOf === "function" && bo.$instanceOf(type); }

    function timerOf(bo) {
      return (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0];
    }

    function setSelect(select, value) {
      Array.prototype.slice.call(select.querySelectorAll("option[data-extra]")).forEach(function (o) { o.remove(); });
      value = value || "";
      var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
      if (!known) select.appendChild(el("option", { value: value, "data-extra": "1" }, value));
      select.value = value;
    }

    function show(kinds) {
      Array.prototype.forEach.call(aside.querySelectorAll("[data-show]"), function (node) {
        node.hidden = kinds.indexOf(node.getAttribute("data-show")) < 0;
      });
    }

    function render() {
      var element = current();
      var bo = element && element.businessObject;
      if (!bo) { show([]); return; }  // before an import, the root is diagram-js's own, without BPMN
      var root = element === canvas.getRootElement();
      field("p-type").textContent = T.types[bo.$type] || T.other_type;
      field("p-id").textContent = bo.id || "";
      var kinds = [];
      if (root && is(bo, "bpmn:Process")) kinds.push("process");
      if (bo.$descriptor && bo.$descriptor.propertiesByName && bo.$descriptor.propertiesByName.name) kinds.push("named");
      if (is(bo, "bpmn:UserTask") || is(bo, "bpmn:StartEvent")) kinds.push("form");
      if (is(bo, "bpmn:UserTask")) kinds.push("user-task");
      if (timerOf(bo)) kinds.push("timer");
      if (is(bo, "bpmn:SequenceFlow")) {
        kinds.push("flow");
        var source = bo.sourceRef;
        if (is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway")) kinds.push("default-flow");
      }
      if (is(bo, "bpmn:CallActivity")) kinds.push("call");
      show(kinds);
      var active = document.activeElement;
      function fill(id, value) { if (field(id) !== active) field(id).value = value || ""; }
      fill("p-process-id", bo.id);
      fill("p-name", bo.name);
      if (kinds.indexOf("form") >= 0) setSelect(field("p-form-key"), bo.get("camunda:formKey"));
      if (kinds.indexOf("user-task") >= 0) {
        setSelect(field("p-group"), bo.get("camunda:candidateGroups"));
        fill("p-assignee", bo.get("camunda:assignee"));
      }
      var timer = timerOf(bo);
      if (timer) {
        var kind = TIMER_KINDS.filter(function (k) { return timer[k]; })[0] || "timeDuration";
        field("p-timer-kind").value = kind;
        fill("p-timer-body", timer[kind] ? timer[kind].body : "");
      }
      if (kinds.indexOf("flow") >= 0) {
        fill("p-condition", bo.conditionExpression ? bo.conditionExpression.body : "");
        var isDefault = !!(bo.sourceRef && bo.sourceRef.default === bo);
        field("p-default").checked = isDefault;
        field("p-condition").disabled = isDefault;
      }
      if (kinds.indexOf("call") >= 0) setSelect(field("p-called"), bo.calledElement);
      aside.setAttribute("data-element", bo.id || "");
    }

    function onChange(id, apply) {
      field(id).addEventListener("change", function () {
        var element = current();
        if (element) apply(element, element.businessObject, field(id));
      });
    }

    onChange("p-process-id", function (element, bo, input) {
      var value = input.value.trim();
      if (!cfg.is_new || value === bo.id) return;
      if (!PROCESS_ID.test(value)) { input.value = bo.id; input.setAttribute("aria-invalid", "true"); return; }
      input.removeAttribute("aria-invalid");
      modeling.updateProperties(element, { id: value });
    });
    onChange("p-name", function (element, bo, input) {
      var value = input.value.trim() || undefined;
      if (element === canvas.getRootElement()) modeling.updateProperties(element, { name: value });
      else modeling.updateLabel(element, value || null);
    });
    onChange("p-form-key", function (element, bo, select) {
      modeling.updateProperties(element, { "camunda:formKey": select.value || undefined });
    });
    onChange("p-group", function (element, bo, select) {
      modeling.updateProperties(element, { "camunda:candidateGroups": select.value || undefined });
    });
    onChange("p-assignee", function (element, bo, input) {
      modeling.updateProperties(element, { "camunda:assignee": input.value.trim() || undefined });
    });
    function applyTimer(element, bo) {
      var timer = timerOf(bo);
      if (!timer) return;
      var kind = field("p-timer-kind").value;
      var body = field("p-timer-body").value.trim();
      var changes = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (body) changes[kind] = bpmnFactory.create("bpmn:FormalExpression", { body: body });
      modeling.updateModdleProperties(element, timer, changes);
    }
    onChange("p-timer-kind", applyTimer);
    onChange("p-timer-body", applyTimer);
    onChange("p-condition", function (element, bo, input) {
      var body = input.value.trim();
      modeling.updateProperties(element, {
        conditionExpression: body ? bpmnFactory.create("bpmn:FormalExpression", { body: body }) : undefined
      });
    });
    onChange("p-default", function (element, bo, checkbox) {
      var source = element.source;
      if (!source) return;
      if (checkbox.checked) {
        // the default flow carries no condition (opsflow's rules refuse one)
        if (bo.conditionExpression) modeling.updateProperties(element, { conditionExpression: undefined });
        modeling.updateProperties(source, { "default": bo });
      } else if (source.businessObject["default"] === bo) {
        modeling.updateProperties(source, { "default": undefined });
      }
    });
    onChange("p-called", function (element, bo, select) {
      modeling.updateProperties(element, { calledElement: select.value || undefined });
    });

    return { render: render };
  }

  // --- a version diff on the newer version's diagram ---------------------------------------------

  function startDiff(box) {
    var found = JSON.parse(document.getElementById("diff-data").textContent);
    fetch(box.getAttribute("data-src"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (diagram) {
        var viewer = new BpmnJS({ container: box, additionalModules: [translateModule()] });
        return viewer.importXML(diagram.xml).then(function () {
          var canvas = viewer.get("canvas");
          var registry = viewer.get("elementRegistry");
          found.added.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "diff-added"); });
          found.changed.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "diff-changed"); });
          canvas.zoom("fit-viewport", "auto");
          box.setAttribute("data-rendered", "1");
        });
      })
      .catch(function () { box.textContent = box.getAttribute("data-error"); box.setAttribute("data-rendered", "error"); });
  }

  if (typeof BpmnJS === "undefined") return;
  var editorBox = document.getElementById("modeler");
  if (editorBox) startEditor(editorBox, JSON.parse(document.getElementById("modeler-config").textContent));
  var diffBox = document.getElementById("diff-diagram");
  if (diffBox) startDiff(diffBox);
})();
