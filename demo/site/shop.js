// The demo shop's own code. It talks to Tactful only through the public API:
// tactful("cart", ...) and tactful("converted", ...), and the tactful:apply-offer event.
(function () {
  "use strict";
  // The stub-and-queue snippet from the README: calls made before Tactful has loaded are queued.
  window.tactful = window.tactful || function () { (window.tactful.q = window.tactful.q || []).push(arguments); };
  var KEY = "demoshop:cart";
  var CATALOGUE = {
    "trail-boots": { name: "Trail boots", price: 129 }, "city-boots": { name: "City boots", price: 99 },
    "wool-socks": { name: "Wool socks", price: 14 }, "enamel-mug": { name: "Enamel mug", price: 18 },
    "pour-over": { name: "Pour-over set", price: 42 }, "coffee-beans": { name: "Coffee beans", price: 16 },
    "plan-starter": { name: "Starter membership, first month", price: 5 },
    "plan-pro": { name: "Pro membership, first month", price: 12 },
    "plan-family": { name: "Family membership, first month", price: 20 },
  };
  // A membership plan is chosen on the pricing page or in Tactful's comparison card: it goes in the cart.
  function choosePlan(plan) {
    var cart = read(), id = "plan-" + plan;
    if (!CATALOGUE[id]) return;
    Object.keys(cart.lines).forEach(function (line) { if (line.indexOf("plan-") === 0) delete cart.lines[line]; });
    cart.lines[id] = 1;
    write(cart);
    location.href = "/cart.html";
  }
  document.addEventListener("tactful:choose-plan", function (e) { choosePlan(String(e.detail.tier).replace("tier:", "")); });
  function read() {
    try { var c = JSON.parse(localStorage.getItem(KEY)); if (c && c.lines) return c; } catch (e) { /* fresh */ }
    return { lines: {}, code: null, percent: 0 };
  }
  var DELIVERY = 4.9, FREE_OVER = 50; // delivery is free on orders over €50
  function totals(cart) {
    var items = 0, value = 0;
    Object.keys(cart.lines).forEach(function (id) {
      var p = CATALOGUE[id]; if (!p) return;
      items += cart.lines[id]; value += cart.lines[id] * p.price;
    });
    var discount = Math.round(value * (cart.percent || 0)) / 100;
    var delivery = items && value - discount < FREE_OVER && !onlyPlans(cart) ? DELIVERY : 0;
    return { items: items, value: value, discount: discount, delivery: delivery, total: value - discount + delivery };
  }
  function onlyPlans(cart) {
    return Object.keys(cart.lines).every(function (id) { return id.indexOf("plan-") === 0; });
  }
  function write(cart) {
    localStorage.setItem(KEY, JSON.stringify(cart));
    var t = totals(cart);
    window.tactful("cart", { items: t.items, value: t.total, currency: "EUR" });
    render();
  }
  function money(v) { return "€" + v.toFixed(2); }
  function line(id, qty, editable) {
    var p = CATALOGUE[id], li = document.createElement("li");
    li.dataset.id = id;
    var name = document.createElement("span");
    name.className = "line-name"; name.textContent = p.name;
    li.appendChild(name);
    if (editable) {
      var qtyBox = document.createElement("span");
      qtyBox.className = "qty";
      qtyBox.innerHTML = "<button class='secondary' data-qty='-1'>−</button><span></span><button class='secondary' data-qty='1'>+</button>";
      qtyBox.children[0].setAttribute("aria-label", "One less " + p.name);
      qtyBox.children[2].setAttribute("aria-label", "One more " + p.name);
      qtyBox.children[1].textContent = String(qty);
      li.appendChild(qtyBox);
    } else {
      name.textContent = qty + " × " + p.name;
    }
    var price = document.createElement("span");
    price.className = "line-price"; price.textContent = money(p.price * qty);
    li.appendChild(price);
    if (editable) {
      var remove = document.createElement("button");
      remove.className = "link"; remove.setAttribute("data-remove", ""); remove.textContent = "Remove";
      li.appendChild(remove);
    }
    return li;
  }
  function render() {
    var cart = read(), t = totals(cart);
    document.querySelectorAll("[data-cart-count]").forEach(function (el) { el.textContent = String(t.items); });
    [["cart-lines", true], ["summary-lines", false]].forEach(function (spec) {
      var list = document.getElementById(spec[0]);
      if (!list) return;
      list.textContent = "";
      Object.keys(cart.lines).forEach(function (id) { if (CATALOGUE[id]) list.appendChild(line(id, cart.lines[id], spec[1])); });
    });
    var discount = cart.code ? "Discount " + cart.code + " (" + cart.percent + "%): −" + money(t.discount) : "";
    ["cart-discount", "summary-discount"].forEach(function (id) {
      var d = document.getElementById(id);
      if (d) { d.hidden = !cart.code; d.textContent = discount; }
    });
    var set = function (id, text) { var el = document.getElementById(id); if (el) el.textContent = text; };
    set("cart-subtotal", money(t.value));
    set("cart-delivery", t.delivery ? money(t.delivery) : "free");
    set("cart-total", money(t.total));
    set("summary-total", money(t.total));
    var empty = document.getElementById("cart-empty");
    if (empty) empty.hidden = t.items > 0;
    var checkout = document.getElementById("checkout-link");
    if (checkout) checkout.hidden = t.items === 0;
  }
  document.addEventListener("click", function (e) {
    var plan = e.target.closest("[data-choose-plan]");
    if (plan) choosePlan(plan.getAttribute("data-choose-plan"));
    var add = e.target.closest("[data-add]");
    if (add) {
      var cart = read(), id = add.getAttribute("data-add");
      cart.lines[id] = (cart.lines[id] || 0) + 1;
      write(cart);
      add.textContent = "Added ✓";
    }
    var row = e.target.closest("li[data-id]");
    if (row && e.target.closest("[data-qty]")) {
      var c = read(), n = (c.lines[row.dataset.id] || 0) + +e.target.closest("[data-qty]").getAttribute("data-qty");
      if (n <= 0) delete c.lines[row.dataset.id]; else c.lines[row.dataset.id] = n;
      write(c);
    }
    if (row && e.target.closest("[data-remove]")) {
      var c2 = read(); delete c2.lines[row.dataset.id]; write(c2);
    }
    if (e.target.closest("[data-place-order]")) {
      var placed = read();
      var order = totals(placed);
      sessionStorage.setItem("demoshop:order", JSON.stringify(order));
      // The shop's server confirms the purchase to Tactful (POST /v1/conversion with the site secret),
      // carrying the visitor id Tactful filled into the form's <input data-tactful-visitor>.
      var field = document.querySelector("input[data-tactful-visitor]");
      var visitor = (window.tactful.visitorId && window.tactful.visitorId()) || (field && field.value) || "";
      if (visitor && order.items) {
        fetch("/shop/order", { method: "POST", keepalive: true, headers: { "content-type": "application/json" },
          body: JSON.stringify({ visitor: visitor, order: "FH-" + Date.now().toString(36), value: order.value,
            discount: order.discount, code: placed.code || undefined, currency: "EUR" }) }).catch(function () {});
      }
      location.href = "/thanks.html";
    }
  });
  // The offer Tactful shows comes from the playbook; applying it is the shop's job.
  document.addEventListener("tactful:apply-offer", function (e) {
    var cart = read();
    cart.code = e.detail.code; cart.percent = e.detail.percent || 0;
    write(cart);
    var note = document.getElementById("offer-note");
    if (note) { note.hidden = false; note.textContent = "Code " + cart.code + " applied: " + cart.percent + "% off."; }
  });
  if (document.body.getAttribute("data-page") === "thanks") {
    var order = JSON.parse(sessionStorage.getItem("demoshop:order") || "null");
    if (order && order.items) {
      window.tactful("converted", { value: order.total });
      localStorage.removeItem(KEY);
      window.tactful("cart", { items: 0, value: 0, currency: "EUR" });
      document.getElementById("order-total").textContent = money(order.total);
      sessionStorage.removeItem("demoshop:order");
    }
  }
  render();
})();
