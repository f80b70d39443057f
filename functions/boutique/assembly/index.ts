// Online Boutique as functions. Leaf services answer one RPC each; `checkout` (PlaceOrder) and `home`
// (a page view) orchestrate them with call-and-return (x-roam-call), keeping their progress in
// x-roam-state like a service keeps it on its stack while it waits for an RPC. Bodies are "key=value" lines.
import { request, respond, Response, Request, fail } from "roam";
import { Fields, State, fnv, hex, money } from "./fields";
import { ADS, CATEGORIES, CUR, IDS, NAMES, PRICE_USD_NANOS, product, rate } from "./data";

function reply(f: Fields): i32 {
  return respond(Response.text(200, f.text()));
}

/** Ends this hop with an RPC to `fn`; the chain comes back here with its answer and `state`. */
function call(fn: string, body: Fields, state: State): i32 {
  const r = Response.text(200, body.text());
  r.setHeader("x-roam-call", fn);
  r.setHeader("x-roam-state", state.s);
  return respond(r);
}

function one(key: string, value: string): Fields {
  const f = new Fields();
  f.set(key, value);
  return f;
}

/** Validates the request and derives the session (a hash over the request stands in for token checks). */
export function frontend(len: i32): i32 {
  const req = request(len);
  const f = Fields.parse(req.bodyText());
  const user = f.get("user");
  if (user.length == 0) return fail(400, "user is required");
  let cur = f.get("currency");
  if (cur.length == 0) cur = "USD";
  if (rate(cur) == 0) return fail(400, "unsupported currency " + cur);
  f.set("currency", cur);
  f.set("session", hex(fnv(user + "|" + cur + "|" + req.path, 64), 16));
  return reply(f);
}

/** CartService.GetCart: the items the client sent stand in for the stored cart, else one derived from the user. */
export function cart(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  let items = f.get("items");
  if (items.length == 0) {
    const h = fnv(f.get("user"), 4);
    items = IDS[<i32>(h % 9)] + ":" + ((h >> 8) % 3 + 1).toString() + "," + IDS[<i32>((h >> 16) % 9)] + ":1," + IDS[<i32>((h >> 24) % 9)] + ":2";
  }
  const out = new Fields();
  const parts = items.split(",");
  for (let i = 0; i < parts.length; i++) {
    const c = parts[i].indexOf(":");
    const id = c < 0 ? parts[i] : parts[i].substring(0, c);
    const qty = c < 0 ? 1 : I32.parseInt(parts[i].substring(c + 1));
    if (qty <= 0 || qty > 99) return fail(400, "bad quantity for " + id);
    out.add("item", id + ":" + qty.toString());
  }
  return reply(out);
}

/** CartService.EmptyCart. */
export function emptycart(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  return reply(one("emptied", f.get("user")));
}

/** ProductCatalogService.GetProduct (`id=`) or ListProducts (no id). */
export function catalog(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const id = f.get("id");
  const out = new Fields();
  if (id.length == 0) {
    for (let p = 0; p < IDS.length; p++) out.add("product", IDS[p] + ":" + PRICE_USD_NANOS[p].toString() + ":" + NAMES[p]);
    return reply(out);
  }
  const p = product(id);
  if (p < 0) return fail(404, "no product " + id);
  out.set("id", id);
  out.set("name", NAMES[p]);
  out.set("nanos", PRICE_USD_NANOS[p].toString());
  out.set("categories", CATEGORIES[p]);
  return reply(out);
}

/** CurrencyService.Convert (`nanos`, `from`, `to`) or GetSupportedCurrencies (no `to`). */
export function currency(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const to = f.get("to");
  if (to.length == 0) return reply(one("currencies", CUR.join(",")));
  const rf = rate(f.get("from"));
  const rt = rate(to);
  if (rf == 0 || rt == 0) return fail(400, "unsupported currency pair " + f.get("from") + "/" + to);
  const eur = (I64.parseInt(f.get("nanos")) * 1000000) / rf;
  const out = one("nanos", ((eur * rt) / 1000000).toString());
  out.set("currency", to);
  return reply(out);
}

/** ShippingService.GetQuote: by item count, in USD. */
export function shipquote(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const count = I64.parseInt(f.get("count"));
  return reply(one("nanos", (5990000000 + count * 1500000000).toString()));
}

/** ShippingService.ShipOrder: a tracking id. */
export function ship(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const h = fnv(f.get("address") + f.get("session") + f.get("count"), 8);
  return reply(one("tracking", "RM-" + ((h % 90000) + 10000).toString() + "-" + (((h >> 20) % 9000000) + 1000000).toString()));
}

/** PaymentService.Charge: Luhn check, card type and expiry, then a transaction id. */
export function payment(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const card = f.get("card");
  let sum = 0;
  let n = 0;
  for (let i = card.length - 1; i >= 0; i--) {
    const c = card.charCodeAt(i);
    if (c == 45 || c == 32) continue; // '-' ' '
    if (c < 48 || c > 57) return fail(400, "card number has a non-digit");
    let d = c - 48;
    if (n % 2 == 1) { d *= 2; if (d > 9) d -= 9; }
    sum += d;
    n++;
  }
  if (n < 12 || sum % 10 != 0) return fail(400, "card number is invalid");
  const first = card.charCodeAt(0);
  if (first != 52 && first != 53) return fail(400, "only VISA or MasterCard are accepted");
  if (I32.parseInt(f.get("expiry")) < 2026) return fail(400, "card expired");
  return reply(one("transaction", hex(fnv(card + f.get("amount") + f.get("currency"), 8), 16)));
}

/** EmailService.SendOrderConfirmation: renders the confirmation (delivery is out of scope). */
export function email(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const to = f.get("email");
  if (to.indexOf("@") <= 0) return fail(400, "bad email address");
  const text = "To: " + to + "\nSubject: Your order " + f.get("order") + "\n\nThank you for shopping with us. Total: " + f.get("total") + " " + f.get("currency") + ", tracking " + f.get("tracking") + ".\n";
  return reply(one("sent", text.length.toString()));
}

/** AdService.GetAds by context words. */
export function ad(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  return reply(one("ad", ADS[<i32>(fnv(f.get("context"), 2) % <u64>ADS.length)]));
}

/** The call state an orchestrator starts with: who asks, and in which currency. */
function fresh(body: Fields): State {
  const st = new State();
  st.set("user", body.get("user"));
  st.set("currency", body.get("currency"));
  return st;
}

function state(req: Request): State {
  const s = req.header("x-roam-state");
  return new State(s == null ? "" : s);
}

function nextProduct(st: State): i32 {
  const items = st.all("item");
  const i = I32.parseInt(st.get("i"));
  st.set("phase", "product");
  return call("catalog", one("id", items[i].substring(0, items[i].indexOf(":"))), st);
}

function convert(nanos: string, st: State, phase: string): i32 {
  const q = one("nanos", nanos);
  q.set("from", "USD");
  q.set("to", st.get("currency"));
  st.set("phase", phase);
  return call("currency", q, st);
}

/** CheckoutService.PlaceOrder: cart, then catalog and currency per item, shipping quote (converted),
 *  payment, shipping, empty the cart, confirmation email; answers the order as JSON. */
export function checkout(len: i32): i32 {
  const req = request(len);
  const body = Fields.parse(req.bodyText());
  if (req.header("x-roam-return") == null) {
    const st = fresh(body);
    st.set("session", body.get("session"));
    const email = body.get("email");
    st.set("email", email.length > 0 ? email : "someone@example.com");
    const card = body.get("card");
    st.set("card", card.length > 0 ? card : "4432-8015-6152-0454");
    st.set("address", "1600 Amphitheatre Parkway, Mountain View CA 94043");
    st.set("phase", "cart");
    const q = one("user", body.get("user"));
    const items = body.get("items");
    if (items.length > 0) q.set("items", items);
    return call("cart", q, st);
  }
  const st = state(req);
  const phase = st.get("phase");
  if (phase == "cart") {
    const items = body.all("item");
    if (items.length == 0) return fail(400, "the cart is empty");
    for (let i = 0; i < items.length; i++) st.add("item", items[i]);
    st.set("i", "0");
    return nextProduct(st);
  }
  if (phase == "product") {
    st.add("name", body.get("name"));
    return convert(body.get("nanos"), st, "price");
  }
  if (phase == "price") {
    st.add("price", body.get("nanos"));
    const i = I32.parseInt(st.get("i")) + 1;
    st.set("i", i.toString());
    if (i < st.all("item").length) return nextProduct(st);
    st.set("phase", "quote");
    return call("shipquote", one("count", count(st).toString()), st);
  }
  if (phase == "quote") return convert(body.get("nanos"), st, "shipcost");
  if (phase == "shipcost") {
    st.set("shipping", body.get("nanos"));
    st.set("total", total(st).toString());
    st.set("phase", "charge");
    const q = one("amount", st.get("total"));
    q.set("currency", st.get("currency"));
    q.set("card", st.get("card"));
    q.set("expiry", "2030");
    return call("payment", q, st);
  }
  if (phase == "charge") {
    st.set("transaction", body.get("transaction"));
    st.set("phase", "ship");
    const q = one("address", st.get("address"));
    q.set("session", st.get("session"));
    q.set("count", count(st).toString());
    return call("ship", q, st);
  }
  if (phase == "ship") {
    st.set("tracking", body.get("tracking"));
    st.set("order", hex(fnv(st.get("session") + st.get("total"), 16), 16));
    st.set("phase", "empty");
    return call("emptycart", one("user", st.get("user")), st);
  }
  if (phase == "empty") {
    st.set("phase", "email");
    const q = one("email", st.get("email"));
    q.set("order", st.get("order"));
    q.set("total", money(I64.parseInt(st.get("total"))));
    q.set("currency", st.get("currency"));
    q.set("tracking", st.get("tracking"));
    return call("email", q, st);
  }
  if (phase == "email") return respond(Response.json(200, orderJson(st)));
  return fail(500, "checkout lost its place: phase '" + phase + "'");
}

function count(st: State): i64 {
  const items = st.all("item");
  let n: i64 = 0;
  for (let i = 0; i < items.length; i++) n += I64.parseInt(items[i].substring(items[i].indexOf(":") + 1));
  return n;
}

function total(st: State): i64 {
  const items = st.all("item");
  const prices = st.all("price");
  let t: i64 = I64.parseInt(st.get("shipping"));
  for (let i = 0; i < items.length; i++) t += I64.parseInt(items[i].substring(items[i].indexOf(":") + 1)) * I64.parseInt(prices[i]);
  return t;
}

function orderJson(st: State): string {
  const items = st.all("item");
  const names = st.all("name");
  const prices = st.all("price");
  let out = "";
  for (let i = 0; i < items.length; i++) {
    const c = items[i].indexOf(":");
    if (i > 0) out += ",";
    out += '{"id":"' + items[i].substring(0, c) + '","name":"' + names[i] + '","quantity":' + items[i].substring(c + 1) + ',"price":"' + money(I64.parseInt(prices[i])) + '"}';
  }
  return '{"order":"' + st.get("order") + '","user":"' + st.get("user") + '","currency":"' + st.get("currency") + '","items":[' + out +
    '],"shipping":"' + money(I64.parseInt(st.get("shipping"))) + '","tracking":"' + st.get("tracking") + '","transaction":"' + st.get("transaction") + '","total":"' + money(I64.parseInt(st.get("total"))) + '"}';
}

/** The home page view: supported currencies, the product list, the cart, every price converted, an ad. */
export function home(len: i32): i32 {
  const req = request(len);
  const body = Fields.parse(req.bodyText());
  if (req.header("x-roam-return") == null) {
    const st = fresh(body);
    st.set("phase", "currencies");
    return call("currency", new Fields(), st);
  }
  const st = state(req);
  const phase = st.get("phase");
  if (phase == "currencies") {
    st.set("currencies", body.get("currencies"));
    st.set("phase", "products");
    return call("catalog", new Fields(), st);
  }
  if (phase == "products") {
    const ps = body.all("product");
    for (let i = 0; i < ps.length; i++) st.add("product", ps[i]);
    st.set("phase", "cart");
    return call("cart", one("user", st.get("user")), st);
  }
  if (phase == "cart") {
    st.set("cart", body.all("item").length.toString());
    st.set("i", "0");
    return convertListed(st);
  }
  if (phase == "price") {
    st.add("price", body.get("nanos"));
    st.set("i", (I32.parseInt(st.get("i")) + 1).toString());
    if (I32.parseInt(st.get("i")) < st.all("product").length) return convertListed(st);
    st.set("phase", "ad");
    return call("ad", one("context", "home " + st.get("user")), st);
  }
  if (phase == "ad") {
    const ps = st.all("product");
    const prices = st.all("price");
    let out = "";
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i].split(":");
      if (i > 0) out += ",";
      out += '{"id":"' + p[0] + '","name":"' + p[2] + '","price":"' + money(I64.parseInt(prices[i])) + '"}';
    }
    return respond(Response.json(200, '{"user":"' + st.get("user") + '","currency":"' + st.get("currency") + '","currencies":"' + st.get("currencies") +
      '","cartSize":' + st.get("cart") + ',"products":[' + out + '],"ad":"' + body.get("ad") + '"}'));
  }
  return fail(500, "home lost its place: phase '" + phase + "'");
}

function convertListed(st: State): i32 {
  const p = st.all("product")[I32.parseInt(st.get("i"))].split(":");
  return convert(p[1], st, "price");
}
