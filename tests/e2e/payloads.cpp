#include "tests/e2e/payloads.hpp"

#include "tests/e2e/harness.hpp"

namespace channelhub::e2e {

std::string ShopifyOrderJson(uint64_t order_id, uint64_t customer_id, std::string_view name,
                             std::string_view total_price) {
  const std::string id = std::to_string(order_id);
  const std::string total(total_price);
  std::string customer;
  if (customer_id != 0) {
    const std::string cid = std::to_string(customer_id);
    customer = R"("customer":{"id":)" + cid +
               R"(,"email":"john@example.com","first_name":"John","last_name":"Smith",)"
               R"("phone":"+8613800138000","admin_graphql_api_id":"gid://shopify/Customer/)" + cid + R"("},)";
  }
  return R"({"id":)" + id + R"(,"admin_graphql_api_id":"gid://shopify/Order/)" + id + R"(",)" +
         R"("name":")" + JsonEscape(name) + R"(","order_number":1234,"number":234,)"
         R"("email":"jon@example.com","contact_email":"jon@example.com",)"
         R"("created_at":"2021-12-31T19:00:00-05:00","processed_at":"2021-12-31T19:00:00-05:00",)"
         R"("currency":"USD","presentment_currency":"USD","financial_status":"paid","fulfillment_status":null,)"
         R"("subtotal_price":")" + total + R"(","total_price":")" + total +
         R"(","total_tax":"0.00","total_discounts":"20.00",)"
         R"("total_price_set":{"shop_money":{"amount":")" + total +
         R"(","currency_code":"USD"},"presentment_money":{"amount":")" + total +
         R"(","currency_code":"USD"}},)"
         R"("taxes_included":false,"test":true,"tags":"tag1, tag2","note_attributes":[],)" + customer +
         R"("billing_address":{"name":"Steve Shipper","address1":"123 Shipping Street","city":"Shippington",)"
         R"("zip":"40003","province_code":"KY","country_code":"US","phone":"555-555-SHIP"},)"
         R"("shipping_address":{"name":"Steve Shipper","address1":"123 Shipping Street","city":"Shippington",)"
         R"("zip":"40003","province_code":"KY","country_code":"US","phone":"555-555-SHIP"},)"
         R"("line_items":[{"id":866550311766439020,"admin_graphql_api_id":"gid://shopify/LineItem/866550311766439020",)"
         R"("product_id":632910392,"variant_id":808950810,"sku":"IPOD2008PINK","title":"IPod Nano - 8GB",)"
         R"("name":"IPod Nano - 8GB","quantity":2,"current_quantity":2,"price":"199.00",)"
         R"("price_set":{"shop_money":{"amount":"199.00","currency_code":"USD"},)"
         R"("presentment_money":{"amount":"199.00","currency_code":"USD"}},)"
         R"("total_discount":"20.00","taxable":true,"tax_lines":[],"discount_allocations":[],)"
         R"("fulfillable_quantity":2,"fulfillment_service":"manual","fulfillment_status":null,)"
         R"("requires_shipping":true,"grams":567,"vendor":null,"properties":[]}],)"
         R"("shipping_lines":[{"id":271878346596884015,"title":"Generic Shipping","price":"10.00","source":"shopify"}],)"
         R"("discount_codes":[],"refunds":[],"fulfillments":[]})";
}

std::string CanonicalOrderJson(std::string_view order_no, std::string_view total, std::string_view status) {
  const std::string no = JsonEscape(order_no);
  const std::string t(total);
  return R"({"order_no":")" + no + R"(","source":{"system":"erp","id":")" + no +
         R"("},"channel":"dealer","status":")" + std::string(status) +
         R"(","currency":"CNY","lines":[{"line_no":1,"sku":"A1","name":"Pump","quantity":"1",)"
         R"("unit_price":")" + t + R"(","amount":")" + t + R"("}],"totals":{"total":")" + t +
         R"("},"created_at":"2026-01-01T00:00:00Z"})";
}

}  // namespace channelhub::e2e
