// The developer portal's sign-in bar (served at /docs/portal/sign-in.js, loaded by Swagger UI's page).
// Signs the service's EIP-4361 challenge with a browser wallet (EIP-1193 personal_sign) or, when the service
// runs as `npm start`, with a demo account's public Hardhat key, then fills Swagger UI's Authorize with the
// token. It talks to this service only.
(function () {
  "use strict";

  var BAR_ID = "consentry-sign-in";

  function waitForUi(done) {
    var tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      var anchor = document.querySelector(".swagger-ui .information-container") || document.querySelector(".swagger-ui .info");
      if ((window.ui && anchor) || tries > 200) {
        clearInterval(timer);
        if (window.ui && anchor) done(window.ui, anchor);
      }
    }, 50);
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) {
      if (key === "text") node.textContent = attributes[key];
      else node.setAttribute(key, attributes[key]);
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  async function call(path, body) {
    var response = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    var json = await response.json().catch(function () {
      return {};
    });
    if (!response.ok) throw new Error((json.title || "HTTP " + response.status) + (json.detail ? ": " + json.detail : ""));
    return json;
  }

  function utf8Hex(text) {
    return "0x" + Array.prototype.map.call(new TextEncoder().encode(text), function (b) {
      return b.toString(16).padStart(2, "0");
    }).join("");
  }

  /** Challenge → signature → token → Authorize. `sign` turns the message into a signature. */
  async function signIn(ui, address, label, sign, say) {
    say("Asking for a challenge for " + label + "…");
    var challenge = await call("/auth/challenge", { address: address });
    say("Signing the challenge…");
    var signature = await sign(challenge.message);
    var token = await call("/auth/token", { message: challenge.message, signature: signature });
    ui.preauthorizeApiKey("bearer", token.accessToken);
    var roles = token.roles && token.roles.length ? token.roles.join(", ") : "no role yet";
    say("Signed in as " + label + " (" + roles + ") until " + new Date(token.expiresAt).toLocaleTimeString() + ". Authorize is filled in: try any operation.");
  }

  function render(ui, anchor, config) {
    if (document.getElementById(BAR_ID)) return;
    var status = el("span", { role: "status", "aria-live": "polite", style: "margin-left:0.5em" });
    var say = function (text) {
      status.textContent = text;
    };
    var fail = function (error) {
      say("Sign-in failed: " + (error && error.message ? error.message : String(error)));
    };
    var children = [el("strong", { text: "Sign in", style: "margin-right:0.75em" })];

    if (config.dev && config.demoAccounts.length) {
      var select = el("select", { id: BAR_ID + "-account", "aria-label": "Demo account" });
      config.demoAccounts.forEach(function (account, index) {
        select.appendChild(el("option", { value: String(index), text: account.name + " (" + account.role + ")" }));
      });
      var demo = el("button", { type: "button", class: "btn", text: "Sign in as demo account" });
      demo.addEventListener("click", function () {
        var account = config.demoAccounts[Number(select.value)];
        signIn(ui, account.address, account.name, async function (message) {
          var ethers = await import("/docs/portal/ethers.js");
          return new ethers.Wallet(account.privateKey).signMessage(message);
        }, say).catch(fail);
      });
      children.push(el("label", { for: BAR_ID + "-account", text: "Demo account (npm start): ", style: "margin-right:0.25em" }), select, demo);
    }

    var wallet = el("button", { type: "button", class: "btn", text: "Sign in with a browser wallet", style: "margin-left:0.5em" });
    wallet.addEventListener("click", function () {
      var provider = window.ethereum;
      if (!provider || typeof provider.request !== "function") {
        say("No browser wallet (EIP-1193) was found on this page.");
        return;
      }
      provider
        .request({ method: "eth_requestAccounts" })
        .then(function (accounts) {
          var address = accounts[0];
          return signIn(ui, address, address, function (message) {
            return provider.request({ method: "personal_sign", params: [utf8Hex(message), address] });
          }, say);
        })
        .catch(fail);
    });
    children.push(wallet, status);

    var bar = el("section", { id: BAR_ID, "aria-label": "Sign in", class: "wrapper", style: "padding:0.75em 20px;border:1px solid #d8dde7;border-radius:4px;margin:1em auto;background:#fff" }, children);
    anchor.parentNode.insertBefore(bar, anchor.nextSibling);
  }

  waitForUi(function (ui, anchor) {
    fetch("/docs/portal/config")
      .then(function (response) {
        return response.json();
      })
      .catch(function () {
        return { dev: false, demoAccounts: [] };
      })
      .then(function (config) {
        render(ui, anchor, config);
      });
  });
})();
