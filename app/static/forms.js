// Parts-list tables: "add a row" clones the row template with the next index (no framework).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-add-row]");
  if (!button) return;
  var name = button.getAttribute("data-add-row");
  var table = document.querySelector('table[data-parts="' + name + '"]');
  var template = document.querySelector('template[data-row-of="' + name + '"]');
  var body = table.tBodies[0];
  var max = parseInt(table.getAttribute("data-max-rows"), 10) || 50;
  if (body.rows.length >= max) return;
  body.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__i__/g, String(body.rows.length)));
  body.rows[body.rows.length - 1].querySelector("input").focus();
});
