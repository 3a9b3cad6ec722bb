// The sandbox chat page: sends the user's actions, draws the bubbles, polls for what the app sends later.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("sandbox-data").textContent);
  var chat = document.getElementById("chat");
  var seen = {};
  var lastCall = 0;
  var busy = false;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function newsCard(b) {
    var card = el("a", "news");
    card.href = b.url || "#";
    card.target = "_blank";
    card.rel = "noopener";
    card.appendChild(el("div", "news-title", b.title));
    var row = el("div", "news-row");
    row.appendChild(el("div", "news-desc", b.description));
    if (b.image) {
      var img = el("img", "news-image");
      img.src = b.image;
      img.alt = "";
      row.appendChild(img);
    }
    card.appendChild(row);
    return card;
  }

  function templateCard(b) {
    var card = el("div", "template");
    card.appendChild(el("div", "template-title", b.title));
    (b.lines || []).forEach(function (line) {
      var p = el("div", "template-line");
      p.appendChild(el("span", "template-key", line.key));
      p.appendChild(el("span", "template-value", line.value));
      card.appendChild(p);
    });
    if (b.url) {
      var more = el("a", "template-more", "详情");
      more.href = b.url;
      more.target = "_blank";
      more.rel = "noopener";
      card.appendChild(more);
    }
    return card;
  }

  function content(b) {
    if (b.kind === "text") {
      var t = el("div", "text");
      t.innerHTML = b.html; // escaped by the server, WeChat's <a href> links kept
      return t;
    }
    if (b.kind === "image") {
      var img = el("img", "photo");
      img.src = b.src;
      img.alt = "图片";
      return img;
    }
    if (b.kind === "news") return newsCard(b);
    if (b.kind === "template") return templateCard(b);
    if (b.kind === "location") {
      var loc = el("div", "location");
      loc.appendChild(el("div", "location-name", "📍 " + b.name));
      loc.appendChild(el("div", "location-label", b.label));
      loc.appendChild(el("div", "location-coords", b.lat + ", " + b.lon));
      return loc;
    }
    return el("div", "text", b.text || "");
  }

  var VIA = { custom: "客服消息", template: "模板消息", mass: "群发消息", preview: "群发预览" };

  function add(b) {
    if (seen[b.id]) return;
    seen[b.id] = true;
    var row;
    if (b.side === "system") {
      row = el("div", "line system " + b.kind, b.text);
    } else {
      row = el("div", "line " + b.side + " kind-" + b.kind);
      row.appendChild(el("div", "avatar " + b.side, b.side === "user" ? "我" : "局"));
      var bubble = el("div", "bubble");
      bubble.appendChild(content(b));
      if (b.via) bubble.appendChild(el("div", "via", VIA[b.via] || b.via));
      row.appendChild(bubble);
    }
    row.dataset.id = b.id;
    chat.appendChild(row);
    chat.scrollTop = chat.scrollHeight;
  }

  function setSubscribed(on) {
    data.subscribed = on;
    var toggle = document.getElementById("follow-toggle");
    toggle.textContent = on ? "取消关注" : "关注公众号";
    toggle.disabled = false; // disabled in the HTML until this script has run
    document.getElementById("phone").classList.toggle("unsubscribed", !on);
    document.getElementById("not-following").hidden = on;
    document.querySelectorAll("#composer input, #composer button, #menu button").forEach(function (b) {
      b.disabled = !on;
    });
  }

  function showError(text) {
    add({ id: "e" + Date.now() + Math.random(), side: "system", kind: "error", text: text });
  }

  function answered(response) {
    return response.json().then(function (body) {
      if (!response.ok) throw new Error(body.error || "请求失败（HTTP " + response.status + "）");
      body.bubbles.forEach(add);
      setSubscribed(body.subscribed);
      return body;
    });
  }

  function act(payload) {
    if (busy) return Promise.resolve();
    busy = true;
    document.getElementById("phone").classList.add("busy");
    return fetch(data.actions, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    })
      .then(answered)
      .catch(function (err) { showError(err.message); })
      .finally(function () {
        busy = false;
        document.getElementById("phone").classList.remove("busy");
      });
  }

  function sendPhoto(file) {
    var form = new FormData();
    form.append("photo", file);
    return fetch(data.photo, { method: "POST", headers: { "X-Sandbox": "1" }, body: form })
      .then(answered)
      .catch(function (err) { showError(err.message); });
  }

  function poll(initial) {
    var url = data.messages + (initial ? "" : "?after=" + lastCall);
    return fetch(url)
      .then(function (r) { return r.json(); })
      .then(function (body) {
        body.bubbles.forEach(add);
        lastCall = Math.max(lastCall, body.last);
        if (initial || body.subscribed !== data.subscribed) setSubscribed(body.subscribed);
      })
      .catch(function () { /* the server restarts under make run: try again at the next tick */ });
  }

  document.getElementById("composer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = document.getElementById("text");
    var text = input.value;
    if (!text.trim()) return;
    input.value = "";
    act({ type: "text", content: text }).then(function () { input.focus(); });
  });

  document.getElementById("follow-toggle").addEventListener("click", function () {
    act({ type: data.subscribed ? "unsubscribe" : "subscribe" });
  });

  function closePopups() {
    document.querySelectorAll(".popup").forEach(function (p) { p.hidden = true; });
  }

  document.querySelectorAll(".menu-top[data-popup]").forEach(function (top) {
    top.addEventListener("click", function () {
      var popup = document.getElementById(top.dataset.popup);
      var open = popup.hidden;
      closePopups();
      popup.hidden = !open;
    });
  });

  document.querySelectorAll(".menu-button").forEach(function (button) {
    button.addEventListener("click", function () {
      closePopups();
      if (button.dataset.type === "view") {
        window.open(button.dataset.url, "_blank", "noopener");
        act({ type: "view", url: button.dataset.url });
      } else {
        act({ type: "click", key: button.dataset.key });
      }
    });
  });

  document.getElementById("panel-toggle").addEventListener("click", function () {
    var panel = document.getElementById("panel");
    panel.hidden = !panel.hidden;
  });

  document.querySelectorAll(".sample").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById("panel").hidden = true;
      act({ type: "photo", sample: button.dataset.sample });
    });
  });

  document.querySelectorAll(".place").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById("panel").hidden = true;
      act({ type: "location", place: button.dataset.place });
    });
  });

  document.getElementById("age-window").addEventListener("click", function () {
    fetch(data.age, { method: "POST", headers: { "X-Sandbox": "1" } })
      .then(answered)
      .catch(function (err) { showError(err.message); });
  });

  document.getElementById("photo-file").addEventListener("change", function (ev) {
    var file = ev.target.files[0];
    ev.target.value = "";
    document.getElementById("panel").hidden = true;
    if (file) sendPhoto(file);
  });

  setSubscribed(data.subscribed);
  poll(true).then(function () {
    document.getElementById("phone").dataset.ready = "1"; // the history is drawn: tests wait for this
    window.setInterval(function () { poll(false); }, 2000);
  });
})();
