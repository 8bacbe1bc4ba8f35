// The console's own progressive enhancement: pages work without it.
// A control marked data-autosubmit (the time slider) submits its form
// when a pointer lets go of it; moved with the keyboard it waits for
// Enter or the form's button, so each arrow key does not load a page.
// While it moves, the form's <output> shows its value.
(function () {
  var byKeyboard = false;
  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit")) {
      byKeyboard = e.key !== "Enter";
      if (e.key === "Enter" && el.form) {
        e.preventDefault();
        el.form.requestSubmit();
      }
    }
  });
  document.addEventListener("pointerdown", function () {
    byKeyboard = false;
  });
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form && !byKeyboard) {
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
})();
