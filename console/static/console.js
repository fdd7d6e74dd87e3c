// smsgate console: progressive enhancement only; every page works without
// this script. It tells the server the browser's time zone (a cookie), and
// counts the Send page's characters, encoding, parts and price as you type.
(function () {
  "use strict";
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("smsgate_tz=" + encodeURIComponent(tz)) < 0) {
      document.cookie = "smsgate_tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
      if (!sessionStorage.getItem("smsgate_tz_reloaded")) {
        sessionStorage.setItem("smsgate_tz_reloaded", "1");
        if (document.querySelector("time")) location.reload();
      }
    }
  } catch (e) { /* no Intl: times stay in UTC */ }

  // GSM 03.38: the basic set (one septet) and the extension (two).
  var basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var ext = "\f^{}\\[~]|€";
  function count(text) {
    var chars = Array.from(text), gsm = true, widths = [];
    for (var i = 0; i < chars.length; i++) {
      var c = chars[i];
      if (basic.indexOf(c) >= 0) widths.push(1);
      else if (ext.indexOf(c) >= 0) widths.push(2);
      else { gsm = false; break; }
    }
    var single = 160, part = 153;
    if (!gsm) {
      widths = chars.map(function (c) { return c.codePointAt(0) > 0xffff ? 2 : 1; });
      single = 70; part = 67;
    }
    var total = widths.reduce(function (a, b) { return a + b; }, 0), parts = 0;
    if (total > 0 && total <= single) parts = 1;
    else if (total > single) {
      var used = part; parts = 0;
      widths.forEach(function (w) { if (used + w > part) { parts++; used = 0; } used += w; });
    }
    return { chars: chars.length, gsm: gsm, parts: parts };
  }
  var form = document.getElementById("send-form");
  if (!form) return;
  var text = document.getElementById("text"), to = document.getElementById("to"),
      tpl = document.getElementById("template"), out = document.getElementById("counter");
  var ppp = parseInt(form.getAttribute("data-price-per-part") || "", 10), cur = form.getAttribute("data-currency") || "",
      digits = parseInt(form.getAttribute("data-digits") || "2", 10);
  function update() {
    var body = text.value;
    if (!body && tpl && tpl.selectedIndex > 0) body = tpl.options[tpl.selectedIndex].getAttribute("data-body") || "";
    var n = count(body);
    var rcpt = to.value.split(/[,;\n\r]+/).filter(function (s) { return s.trim() !== ""; }).length;
    form.querySelectorAll("input[name=group]:checked").forEach(function (g) { rcpt += parseInt(g.getAttribute("data-members") || "0", 10); });
    var s = n.chars + " characters · " + (n.gsm ? "GSM 7-bit" : "Unicode (UCS-2)") + " · " + n.parts + " part" + (n.parts === 1 ? "" : "s") +
      " × " + rcpt + " recipient" + (rcpt === 1 ? "" : "s");
    if (!isNaN(ppp)) s += " · " + (n.parts * rcpt * ppp / Math.pow(10, digits)).toFixed(digits) + " " + cur;
    out.textContent = s;
  }
  [text, to, tpl].forEach(function (el) { if (el) { el.addEventListener("input", update); el.addEventListener("change", update); } });
  form.querySelectorAll("input[name=group]").forEach(function (g) { g.addEventListener("change", update); });
  update();
})();

// Buttons that destroy something ask first (without scripts they act at once,
// as a plain form does).
document.addEventListener("click", function (e) {
  var b = e.target.closest && e.target.closest("button[data-confirm]");
  if (b && !window.confirm(b.getAttribute("data-confirm"))) e.preventDefault();
});
