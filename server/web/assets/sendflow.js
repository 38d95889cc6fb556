// sendflow web part: optional enhancement only; every page works without it.
// Moves keyboard focus to the error summary when a form comes back with errors, so screen
// reader users hear the problems first (the summary has role="alert" as well).
(function () {
  'use strict';
  function focusErrorSummary() {
    var summary = document.querySelector('[data-error-summary]');
    if (summary) summary.focus();
  }
  // Clicking an error link focuses the field itself (browsers scroll to it without focusing).
  function linkErrorsToFields() {
    var links = document.querySelectorAll('[data-error-summary] a[href^="#"]');
    Array.prototype.forEach.call(links, function (link) {
      link.addEventListener('click', function (event) {
        var field = document.getElementById(link.getAttribute('href').slice(1));
        if (!field) return;
        event.preventDefault();
        field.focus();
        if (field.scrollIntoView) field.scrollIntoView({ block: 'center' });
      });
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { focusErrorSummary(); linkErrorsToFields(); });
  } else {
    focusErrorSummary();
    linkErrorsToFields();
  }
})();
