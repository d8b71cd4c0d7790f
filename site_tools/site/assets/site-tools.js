// An urgent banner ends when its bulletin expires, even if the site was built before.
(function () {
  function hideExpired() {
    var now = Date.now();
    document.querySelectorAll(".st-urgent__item[data-expires]").forEach(function (el) {
      var expires = el.getAttribute("data-expires");
      if (expires && Date.parse(expires) <= now) { el.hidden = true; }
    });
    document.querySelectorAll(".st-urgent").forEach(function (box) {
      if (!box.querySelector(".st-urgent__item:not([hidden])")) {
        var banner = box.closest(".md-banner");
        (banner || box).hidden = true;
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", hideExpired); }
  else { hideExpired(); }
})();
