#include "hub/model/cloudevent.hpp"

#include <gtest/gtest.h>

namespace channelhub::model {
namespace {

CloudEvent SampleEvent() {
  CloudEvent e;
  e.id = "3b241101-e2bb-4255-8caf-4136c566a962";
  e.source = "/connectors/webshop";
  e.type = std::string(kOrderUpserted);
  e.time = *ParseRfc3339("2024-03-08T10:15:31.5+08:00");
  e.subject = "order/webshop/6123456789012345678";
  e.data_json = R"({"order_no":"#1058","lines":[]})";
  return e;
}

constexpr std::string_view kSampleJson =
    R"({"specversion":"1.0","id":"3b241101-e2bb-4255-8caf-4136c566a962","source":"/connectors/webshop",)"
    R"("type":"com.channelhub.order.upserted","time":"2024-03-08T02:15:31.500Z",)"
    R"("subject":"order/webshop/6123456789012345678","datacontenttype":"application/json",)"
    R"("data":{"order_no":"#1058","lines":[]}})";

TEST(CloudEventTest, WritesStructuredModeWithDataInline) {
  EXPECT_EQ(ToJson(SampleEvent()), kSampleJson);
}

TEST(CloudEventTest, RoundTrips) {
  Result<CloudEvent> back = CloudEventFromJson(kSampleJson);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, SampleEvent());
  EXPECT_EQ(ToJson(*back), kSampleJson);
}

TEST(CloudEventTest, DataIsKeptAsCompactJson) {
  Result<CloudEvent> e = CloudEventFromJson(
      R"({ "specversion" : "1.0", "id":"1", "source":"/x", "type":"t", "time":"2024-01-01T00:00:00Z",)"
      R"( "data" : { "a" : [ 1 , 2.5 , "三" ] , "n" : null }, "traceparent":"00-abc" })");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->data_json, R"({"a":[1,2.5,"三"],"n":null})");
  EXPECT_EQ(e->datacontenttype, "");  // not given, not invented
  EXPECT_EQ(e->subject, "");
}

TEST(CloudEventTest, NoDataMeansNoDataMember) {
  CloudEvent e = SampleEvent();
  e.data_json.clear();
  e.subject.clear();
  EXPECT_EQ(ToJson(e),
            R"({"specversion":"1.0","id":"3b241101-e2bb-4255-8caf-4136c566a962",)"
            R"("source":"/connectors/webshop","type":"com.channelhub.order.upserted",)"
            R"("time":"2024-03-08T02:15:31.500Z","datacontenttype":"application/json"})");
}

TEST(CloudEventTest, RejectsWhatIsNotAVersion1Event) {
  EXPECT_EQ(CloudEventFromJson(R"({"specversion":"0.3","id":"1","source":"/x","type":"t"})")
                .status()
                .message(),
            "specversion: expected \"1.0\", got \"0.3\"");
  EXPECT_EQ(CloudEventFromJson(R"({"id":"1"})").status().message(), "specversion: required");
  EXPECT_EQ(
      CloudEventFromJson(R"({"specversion":"1.0","source":"/x","type":"t"})").status().message(),
      "id: required");
  EXPECT_EQ(CloudEventFromJson(R"({"specversion":"1.0","id":"1","source":"/x","type":"t"})")
                .status()
                .message(),
            "time: required");
  EXPECT_EQ(
      CloudEventFromJson(
          R"({"specversion":"1.0","id":"1","source":"/x","type":"t","time":"yesterday"})")
          .status()
          .message(),
      "time: invalid time \"yesterday\": expected YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM|-HH:MM)");
  EXPECT_EQ(CloudEventFromJson(R"({"specversion":"1.0","id":"1","source":"/x","type":"t",)"
                               R"("time":"2024-01-01T00:00:00Z","data_base64":"AAAA"})")
                .status()
                .message(),
            "data_base64: binary event data is not supported");
}

}  // namespace
}  // namespace channelhub::model
