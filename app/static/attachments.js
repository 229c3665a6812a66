// The attachments panel (macros/attachments.html): say at once that a chosen file is over the size limit,
// before it is sent. The server checks again (engine.desk.attachments); this only saves a long wait.
document.querySelectorAll("form.attachment-upload input[type=file][data-max-bytes]").forEach(function (input) {
  input.addEventListener("change", function () {
    var limit = Number(input.dataset.maxBytes);
    var file = input.files && input.files[0];
    input.setCustomValidity(file && file.size > limit ? input.dataset.tooLarge.replace("%(name)s", file.name) : "");
    input.reportValidity();
  });
});
