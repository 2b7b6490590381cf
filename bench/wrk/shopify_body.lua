-- Builds realistic Shopify orders/create bodies (protocols.md §2.2, trimmed) of about 1.2 to 1.9 KB.
-- Loaded with dofile() by post_order.lua and post_bare.lua; returns make_body(order_id, lines).
-- "order_id" is an 18-digit decimal string (Shopify ids exceed 2^53; never a Lua number).

local function line_item(order_id, n)
  local id = order_id:sub(1, 15) .. string.format("%03d", n)
  return '{"id":' .. id .. ',"product_id":63291039' .. n .. ',"variant_id":80895081' .. n .. ',"sku":"IPOD2008PINK-' .. n .. '",'
    .. '"title":"IPod Nano - 8GB","name":"IPod Nano - 8GB","quantity":' .. n .. ',"current_quantity":' .. n .. ','
    .. '"price":"199.00","total_discount":"0.00","taxable":true,"tax_lines":[],'
    .. '"fulfillable_quantity":' .. n .. ','
    .. '"fulfillment_service":"manual","fulfillment_status":null,"requires_shipping":true,"grams":567,'
    .. '"vendor":null,"properties":[]}'
end

local address = '{"name":"Steve Shipper","address1":"123 Shipping Street","city":"Shippington",'
  .. '"zip":"40003","province_code":"KY","country_code":"US","phone":"555-555-SHIP"}'

return function(order_id, lines)
  local items = {}
  for n = 1, lines do items[n] = line_item(order_id, n) end
  local customer_id = "1" .. order_id:sub(2)
  return '{"id":' .. order_id .. ',"admin_graphql_api_id":"gid://shopify/Order/' .. order_id .. '",'
    .. '"name":"#' .. order_id:sub(-6) .. '","order_number":1234,"number":234,'
    .. '"email":"jon@example.com","created_at":"2021-12-31T19:00:00-05:00",'
    .. '"currency":"USD","presentment_currency":"USD","financial_status":"paid","fulfillment_status":null,'
    .. '"subtotal_price":"388.00","total_price":"388.00","total_tax":"0.00","total_discounts":"20.00",'
    .. '"taxes_included":false,"test":true,"tags":"tag1, tag2","note_attributes":[],'
    .. '"customer":{"id":' .. customer_id .. ',"email":"john@example.com","first_name":"John",'
    .. '"last_name":"Smith"},"shipping_address":' .. address .. ','
    .. '"line_items":[' .. table.concat(items, ",") .. '],'
    .. '"shipping_lines":[{"id":271878346596884015,"title":"Generic Shipping","price":"10.00","source":"shopify"}],'
    .. '"discount_codes":[],"refunds":[],"fulfillments":[]}'
end
