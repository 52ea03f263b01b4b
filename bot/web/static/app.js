/* 梯队助手: the same forms as without JavaScript, sent to the JSON API and shown in place.
   Every reply's "html" was made safe by the server (only b, i, u, s, a, code, pre and blockquote);
   button labels and everything the visitor typed are set as text, never as markup. */
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var log = document.getElementById("log");
  if (!meta || !log || !window.fetch || !window.JSON) { return; }
  var csrf = meta.getAttribute("content");
  var dateForm = document.getElementById("date-form");
  var status = document.getElementById("status");
  var textLabel = document.querySelector('label[for="text"]');
  var askLabel = textLabel ? textLabel.textContent : "";

  function make(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function buttons(entry) {
    if (!entry.buttons || !entry.buttons.length) { return null; }
    var form = make("form", "buttons");
    form.method = "post";
    form.action = "/button";
    form.setAttribute("data-api", "button");
    var token = make("input");
    token.type = "hidden"; token.name = "csrf"; token.value = csrf;
    form.appendChild(token);
    var id = make("input");
    id.type = "hidden"; id.name = "message"; id.value = String(entry.id);
    form.appendChild(id);
    entry.buttons.forEach(function (row) {
      var line = make("div", "row");
      row.forEach(function (b) {
        var node;
        if (b.data) {
          node = make("button", null, b.text);
          node.type = "submit"; node.name = "data"; node.value = b.data;
        } else {
          node = make("a", "button link", b.text);
          node.href = b.url; node.rel = "noopener noreferrer"; node.target = "_blank";
        }
        line.appendChild(node);
      });
      form.appendChild(line);
    });
    return form;
  }

  function body(html) {
    var div = make("div", "body");
    div.innerHTML = html;  // sanitised by the server; the page's CSP forbids any script in it anyway
    return div;
  }

  function reply(entry) {
    var li = make("li", "msg out");
    li.id = "m" + entry.id;
    li.appendChild(body(entry.html));
    if (entry.document) {
      var p = make("p", "file");
      var a = make("a", "button secondary", "下载 " + entry.document.filename);
      a.href = entry.document.url;
      a.setAttribute("download", entry.document.filename);
      p.appendChild(a);
      li.appendChild(p);
    }
    li.appendChild(make("div", "more"));
    var form = buttons(entry);
    if (form) { li.appendChild(form); }
    return li;
  }

  function expansion(entry) {
    var details = make("details", "expand");
    details.open = true;
    details.id = "m" + entry.id;
    details.appendChild(make("summary", null, "原文（点此收起）"));
    details.appendChild(body(entry.html));
    var form = buttons(entry);
    if (form) { details.appendChild(form); }
    return details;
  }

  function said(input) {
    var li = make("li", "msg in");
    li.id = "m" + input.id;
    li.appendChild(make("p", "text", input.text));
    return li;
  }

  function place(entry) {
    var old = document.getElementById("m" + entry.id);
    if (entry.expand) {
      var parent = document.getElementById("m" + entry.expand);
      var slot = parent && parent.querySelector(".more");
      if (slot) {
        var node = expansion(entry);
        if (old) { old.replaceWith(node); } else { slot.appendChild(node); }
        return node;
      }
    }
    var li = reply(entry);
    if (old && entry.edit) {
      var kept = old.querySelector(".more");
      if (kept) { li.replaceChild(kept, li.querySelector(".more")); }
      old.replaceWith(li);
    } else {
      log.appendChild(li);
    }
    return li;
  }

  function expecting(what) {
    if (!dateForm) { return; }
    dateForm.hidden = what !== "date";
    if (textLabel) { textLabel.textContent = what === "date" ? "或直接输入日期，例如 2026年3月5日" : askLabel; }
  }

  function show(result, form) {
    if (result.forgotten) { window.location.assign("/?deleted=1"); return; }
    var welcome = log.querySelector("[data-welcome]");
    if (welcome && (result.input || !result.replies.every(function (r) { return r.edit || r.expand; }))) {
      welcome.removeAttribute("data-welcome");
    }
    var first = result.input ? log.appendChild(said(result.input)) : null;
    var last = null;
    result.replies.forEach(function (entry) {
      var node = place(entry);
      first = first || node;
      last = entry;
    });
    if (last && !last.edit && !last.expand) { expecting(last.expects || ""); }
    var field = form.elements.text;
    if (field && field.tagName) { field.value = ""; }
    if (first) { first.scrollIntoView({block: "start"}); }
  }

  function busy(form, on) {
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = on; });
    log.setAttribute("aria-busy", on ? "true" : "false");
  }

  function send(form, path, payload) {
    status.textContent = "";
    busy(form, true);
    fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().then(function (json) { return {ok: response.ok, code: response.status, json: json}; });
    }).then(function (answer) {
      if (answer.ok) { show(answer.json, form); return; }
      status.textContent = answer.json.error || "出了点问题，请稍后再试。";
      if (answer.code === 403) { window.location.reload(); }
    }).catch(function () {
      status.textContent = "网络连接有问题，请稍后再试。";
    }).then(function () { busy(form, false); });
  }

  var box = document.getElementById("text");
  if (box && box.form && box.form.requestSubmit) {
    box.addEventListener("keydown", function (event) {
      // Enter sends, Shift+Enter is a new line; Enter that ends an IME composition (拼音) is not a send.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        box.form.requestSubmit();
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.getAttribute("data-api");
    if (!kind) { return; }
    var button = event.submitter;
    event.preventDefault();
    if (kind === "button") {
      if (!button || !button.value) { return; }
      var payload = {data: button.value};
      if (form.elements.message) { payload.message = Number(form.elements.message.value); }
      send(form, "/api/button", payload);
      return;
    }
    var text = button && button.name === "text" ? button.value : (form.elements.text ? form.elements.text.value : "");
    text = text.trim();
    if (!text) { return; }
    send(form, "/api/message", {text: text});
  });
}());
