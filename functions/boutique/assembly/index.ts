// An Online-Boutique-style checkout as a chain of functions. Each service reads the payload the previous
// one produced ("key=value" lines), does its own work and adds its part:
//   frontend → cart → catalog → currency → shipping → checkout
import { request, respond, Response, fail } from "roam";
import { Fields, fnv, hex, money } from "./fields";

function reply(f: Fields): i32 {
  return respond(Response.text(200, f.text()));
}

/** Validates the request and derives the session (a hash over the request stands in for token checks). */
export function frontend(len: i32): i32 {
  const req = request(len);
  const f = Fields.parse(req.bodyText());
  const user = f.get("user");
  if (user.length == 0) return fail(400, "user is required");
  let cur = f.get("currency");
  if (cur.length == 0) cur = "USD";
  if (cur != "USD" && cur != "EUR" && cur != "JPY" && cur != "GBP" && cur != "CAD") return fail(400, "unsupported currency " + cur);
  f.set("currency", cur);
  f.set("session", hex(fnv(user + "|" + cur + "|" + req.path, 64), 16));
  f.set("path", req.path);
  return reply(f);
}

/** The user's cart: the items in the request, or a cart derived from the user id. */
export function cart(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  let items = f.get("items");
  if (items.length == 0) {
    const h = fnv(f.get("user"), 4);
    items = IDS[<i32>(h % 9)] + ":" + ((h >> 8) % 3 + 1).toString() + "," + IDS[<i32>((h >> 16) % 9)] + ":1," + IDS[<i32>((h >> 24) % 9)] + ":2";
  }
  const parts = items.split(",");
  for (let i = 0; i < parts.length; i++) {
    const c = parts[i].indexOf(":");
    const id = c < 0 ? parts[i] : parts[i].substring(0, c);
    const qty = c < 0 ? 1 : I32.parseInt(parts[i].substring(c + 1));
    if (qty <= 0 || qty > 99) return fail(400, "bad quantity for " + id);
    f.add("cart", id + ":" + qty.toString());
  }
  f.drop("items");
  return reply(f);
}

const IDS: string[] = ["OLJCESPC7Z", "66VCHSJNUP", "1YMWWN1N4O", "L9ECAV7KIM", "2ZYFJ3GM2N", "0PUK6V6EV0", "LS4PSXUNUM", "9SIQT8TOJO", "6E92ZMYYFZ"];
const NAMES: string[] = ["Sunglasses", "Tank Top", "Watch", "Loafers", "Hairdryer", "Candle Holder", "Salt & Pepper Shakers", "Bamboo Glass Jar", "Mug"];
const PRICE_USD_NANOS: i64[] = [19990000000, 18990000000, 109990000000, 89990000000, 24990000000, 18990000000, 18490000000, 5490000000, 8990000000];
const CATEGORIES: string[] = ["accessories", "clothing,tops", "accessories", "footwear,clothing", "hair,beauty", "decor,home", "kitchen", "kitchen", "kitchen"];

/** Looks every cart item up in the catalog (the browse route lists the whole catalog). */
export function catalog(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  let items = f.all("cart");
  if (items.length == 0) for (let i = 0; i < IDS.length; i++) items.push(IDS[i] + ":1");
  f.drop("cart");
  for (let i = 0; i < items.length; i++) {
    const c = items[i].indexOf(":");
    const id = items[i].substring(0, c);
    let found = -1;
    for (let p = 0; p < IDS.length; p++) if (IDS[p] == id) { found = p; break; }
    if (found < 0) return fail(404, "no product " + id);
    f.add("line", id + ":" + items[i].substring(c + 1) + ":" + PRICE_USD_NANOS[found].toString() + ":" + NAMES[found] + ":" + CATEGORIES[found]);
  }
  return reply(f);
}

// EUR-based rates as in Online Boutique's currency service, in millionths.
const CUR: string[] = ["EUR", "USD", "JPY", "GBP", "CAD"];
const PER_EUR_MICRO: i64[] = [1000000, 1130500, 126400000, 859700, 1512800];

function rate(c: string): i64 {
  for (let i = 0; i < CUR.length; i++) if (CUR[i] == c) return PER_EUR_MICRO[i];
  return 0;
}

/** Converts USD nanos into the target currency through EUR. */
function convert(usdNanos: i64, to: string): i64 {
  const eur = (usdNanos * 1000000) / rate("USD");
  return (eur * rate(to)) / 1000000;
}

/** Converts every line's price into the session currency. */
export function currency(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const to = f.get("currency");
  const lines = f.all("line");
  f.drop("line");
  for (let i = 0; i < lines.length; i++) {
    const p = lines[i].split(":");
    const converted = convert(I64.parseInt(p[2]), to);
    f.add("line", p[0] + ":" + p[1] + ":" + converted.toString() + ":" + p[3]);
  }
  return reply(f);
}

/** Quotes shipping by item count and makes a tracking id. */
export function shipping(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const lines = f.all("line");
  let count: i64 = 0;
  for (let i = 0; i < lines.length; i++) count += I64.parseInt(lines[i].split(":")[1]);
  const quoteUsd: i64 = 5990000000 + count * 1500000000;
  f.set("shipping", convert(quoteUsd, f.get("currency")).toString());
  const h = fnv(f.get("session") + count.toString(), 8);
  f.set("tracking", "RM-" + ((h % 90000) + 10000).toString() + "-" + (((h >> 20) % 9000000) + 1000000).toString());
  return reply(f);
}

/** Totals the order and answers with it as JSON. */
export function checkout(len: i32): i32 {
  const f = Fields.parse(request(len).bodyText());
  const lines = f.all("line");
  let total: i64 = I64.parseInt(f.get("shipping"));
  let items = "";
  for (let i = 0; i < lines.length; i++) {
    const p = lines[i].split(":");
    const qty = I64.parseInt(p[1]);
    const price = I64.parseInt(p[2]);
    total += qty * price;
    if (i > 0) items += ",";
    items += '{"id":"' + p[0] + '","name":"' + p[3] + '","quantity":' + qty.toString() + ',"price":"' + money(price) + '"}';
  }
  const order = hex(fnv(f.get("session") + total.toString(), 16), 16);
  const cur = f.get("currency");
  return respond(Response.json(200, '{"order":"' + order + '","user":"' + f.get("user") + '","currency":"' + cur + '","items":[' + items +
    '],"shipping":"' + money(I64.parseInt(f.get("shipping"))) + '","tracking":"' + f.get("tracking") + '","total":"' + money(total) + '"}'));
}
