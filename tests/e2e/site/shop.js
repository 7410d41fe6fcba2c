// The test site's own code: a cart kept in localStorage, reported to Tactful the public way.
(function () {
  var KEY = "testshop:cart";
  function read() { try { return JSON.parse(localStorage.getItem(KEY)) || { items: 0, value: 0 }; } catch (e) { return { items: 0, value: 0 }; } }
  function write(cart) {
    localStorage.setItem(KEY, JSON.stringify(cart));
    document.dispatchEvent(new CustomEvent("tactful:cart", { detail: { items: cart.items, value: cart.value, currency: "EUR" } }));
    var out = document.getElementById("cart-count");
    if (out) out.textContent = String(cart.items);
  }
  window.testShop = {
    add: function (price) { var c = read(); c.items += 1; c.value += price; write(c); },
    buy: function () { var c = read(); window.tactful && tactful.converted({ value: c.value }); write({ items: 0, value: 0 }); },
    applied: [],
  };
  document.addEventListener("tactful:apply-offer", function (e) { window.testShop.applied.push(e.detail); });
  document.addEventListener("click", function (e) {
    var add = e.target.closest("[data-add]");
    if (add) window.testShop.add(+add.getAttribute("data-add"));
    if (e.target.closest("[data-buy]")) window.testShop.buy();
  });
  var out = document.getElementById("cart-count");
  if (out) out.textContent = String(read().items);
})();
