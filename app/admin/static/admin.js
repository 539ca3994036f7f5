// The panel's only script besides htmx: no inline code anywhere (the CSP allows none).
"use strict";

// Every htmx request carries the CSRF token from the page's <meta>, never from <body> attributes.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
  }
});

// Plain forms that change much ask first: <form data-confirm="...">.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// A request that failed on the way (network, server down) says so in the notice area.
document.addEventListener("htmx:sendError", function () {
  var notice = document.getElementById("notice");
  if (notice) {
    notice.textContent = "Немає зв'язку з сервером: спробуйте ще раз.";
  }
});
