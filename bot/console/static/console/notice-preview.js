// The notice form's live preview: while the editor types, the form is posted to the preview address again (at most
// every 0.8 s), into the phone-sized frame. Without this script the 预览 button does the same on a click.
(function () {
  var form = document.getElementById('notice-form');
  var button = document.getElementById('preview-button');
  if (!form || !button || !form.requestSubmit) return;
  var timer = null;
  function refresh() {
    timer = null;
    var file = form.querySelector('input[type=file]');
    var hadFile = file && !file.disabled;
    if (hadFile) file.disabled = true; // the picture is not sent with every keystroke
    form.requestSubmit(button);
    if (hadFile) file.disabled = false;
  }
  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 800);
  }
  form.addEventListener('input', later);
  form.addEventListener('change', later);
  refresh();
})();
