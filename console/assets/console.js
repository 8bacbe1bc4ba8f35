// The console's own progressive enhancement: pages work without it.
// A control marked data-autosubmit submits its form when changed (the
// time slider), and shows its value in the form's <output> while moving.
document.addEventListener("change", function (e) {
  var el = e.target;
  if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit();
  }
});
document.addEventListener("input", function (e) {
  var el = e.target;
  if (el && el.type === "range" && el.form) {
    var out = el.form.querySelector("output[for='" + el.id + "']");
    if (out) {
      out.textContent = el.value + " / " + el.max;
    }
  }
});
