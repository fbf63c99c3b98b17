// The shopping assistant chat: posts the message (and an optional photo as
// a data URL) to BASE_URL/bot and renders product cards for every [ID] in
// the reply, using BASE_URL/product-meta/<id>.
"use strict";

(function () {
  var root = document.getElementById("assistant");
  if (!root) {
    return;
  }
  var base = root.getAttribute("data-base") || "";
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-message");
  var file = document.getElementById("chat-image");

  function bubble(text, who) {
    var p = document.createElement("p");
    p.className = "chat-bubble chat-" + who;
    p.textContent = text;
    log.appendChild(p);
    p.scrollIntoView({ block: "end" });
    return p;
  }

  function readImage() {
    return new Promise(function (resolve) {
      if (!file || !file.files || !file.files[0]) {
        resolve(undefined);
        return;
      }
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { resolve(undefined); };
      reader.readAsDataURL(file.files[0]);
    });
  }

  function productCard(id) {
    return fetch(base + "/product-meta/" + encodeURIComponent(id))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) {
          return;
        }
        var a = document.createElement("a");
        a.className = "chat-product";
        a.href = base + "/product/" + encodeURIComponent(p.id);
        var img = document.createElement("img");
        img.src = base + p.picture;
        img.alt = p.name || "";
        var name = document.createElement("strong");
        name.textContent = p.name || p.id;
        var desc = document.createElement("span");
        var d = p.description || "";
        desc.textContent = d.length > 350 ? d.slice(0, 330) + "..." : d;
        a.appendChild(img);
        a.appendChild(name);
        a.appendChild(desc);
        log.appendChild(a);
      })
      .catch(function () {});
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) {
      return;
    }
    bubble(text, "user");
    input.value = "";
    var waiting = bubble("Thinking\u2026", "bot");
    readImage()
      .then(function (image) {
        return fetch(base + "/bot", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ message: text, image: image })
        });
      })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (reply) {
        var message = reply.message || "";
        waiting.textContent = message.replace(/\[([A-Z0-9]+)\]/g, "").trim();
        var ids = [];
        message.replace(/\[([A-Z0-9]+)\]/g, function (_, id) { ids.push(id); return ""; });
        return Promise.all(ids.map(productCard));
      })
      .catch(function (err) {
        waiting.textContent = "Sorry, the assistant is unavailable right now (" + err.message + ").";
      });
  });
})();
