/*
 * The reply box's length, counted as the server counts it (service/counter/actions.py, template.py).
 *
 * WhatsApp's limits are in characters: 4,096 for a free-form text body, 1,024 for a template's body
 * (Cloud API documentation). The project counts a character as one Unicode code point (Python's len(),
 * the unit the simulator enforces too). A browser's maxlength counts UTF-16 units instead, so an emoji
 * would count twice: this script counts code points and says so before the form is sent. Without
 * JavaScript the server refuses a text that is too long and gives it back in the box, unchanged.
 */
(function () {
  'use strict';

  function number(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '.'); // 4.096, as formatting.number writes it
  }

  function characters(n) {
    return number(n) + (n === 1 ? ' carattere' : ' caratteri');
  }

  /** What the server will count: the text trimmed, made one paragraph for the template (clean_param). */
  function measured(box) {
    var text = box.value.replace(/\r\n/g, '\n');
    if (box.hasAttribute('data-paragraph')) text = text.replace(/[\r\n\t\v\f]+/g, ' ').replace(/ {2,}/g, ' ');
    return Array.from(text.trim()).length; // code points, not UTF-16 units
  }

  function check(box, hint) {
    var max = parseInt(box.getAttribute('data-max'), 10);
    var used = measured(box);
    var over = used - max;
    var message = over > 0 ? 'La risposta ha ' + characters(used) + ': al massimo ' + number(max) + '. Togline ' + number(over) + '.' : '';
    box.setCustomValidity(message);
    if (hint) {
      hint.textContent = over > 0 ? message : characters(used) + ' su ' + number(max) + '.';
      hint.classList.toggle('over', over > 0);
    }
  }

  document.addEventListener('DOMContentLoaded', function () {
    var boxes = document.querySelectorAll('textarea[data-max]');
    Array.prototype.forEach.call(boxes, function (box) {
      var hint = document.getElementById(box.getAttribute('aria-describedby'));
      box.addEventListener('input', function () { check(box, hint); });
      check(box, hint);
    });
  });
})();
