"""Every sentence a citizen reads, in one place (staff change wording here only)."""

from __future__ import annotations

WELCOME = (
    "Xin chào! Tôi là Trợ lý thủ tục hành chính. Bạn có thể hỏi tôi về thủ tục hành chính: "
    "cần giấy tờ gì, lệ phí bao nhiêu, mất bao lâu, nộp ở đâu, có làm trực tuyến được không.\n"
    'Ví dụ: "Đăng ký thường trú cần giấy tờ gì?", "lệ phí cấp lại căn cước".\n'
    'Gõ "gặp cán bộ" nếu bạn muốn được cán bộ hỗ trợ trực tiếp.'
)
THANKS = "Rất vui được hỗ trợ bạn. Bạn cần hỏi thêm thủ tục nào cứ nhắn cho tôi nhé."
WHO_AM_I = (
    "Tôi là trợ lý tự động trả lời về thủ tục hành chính, dựa trên dữ liệu công khai của Cổng "
    "Dịch vụ công quốc gia và các cơ quan nhà nước. Tôi không thay thế cán bộ tiếp nhận hồ sơ."
)
HANDOFF = (
    "Tôi đã ghi nhận bạn muốn được cán bộ hỗ trợ. Trong lúc chờ, bạn có thể liên hệ trực tiếp "
    "Bộ phận Một cửa (Trung tâm Phục vụ hành chính công) nơi bạn cư trú."
)
OUT_OF_SCOPE = (
    "Xin lỗi, tôi chỉ trả lời các câu hỏi về thủ tục hành chính và dịch vụ công. "
    'Bạn có thể hỏi ví dụ: "làm lại căn cước bị mất ở đâu".'
)
NO_ANSWER = (
    "Xin lỗi, tôi chưa tìm thấy thông tin đủ chắc chắn để trả lời câu hỏi này. "
    "Câu hỏi của bạn đã được ghi lại để cán bộ bổ sung."
)
ONE_STOP = (
    "Bạn có thể hỏi trực tiếp Bộ phận Một cửa (Trung tâm Phục vụ hành chính công) nơi bạn cư trú, "
    "hoặc tra cứu tại Cổng Dịch vụ công quốc gia: https://dichvucong.gov.vn"
)
HOTLINE_INTRO = "Số điện thoại hỗ trợ có trong cơ sở dữ liệu:"
HOTLINE_NONE = "Tôi chưa có số đường dây nóng phù hợp với câu hỏi của bạn trong cơ sở dữ liệu."
APOLOGY = (
    "Xin lỗi, hệ thống đang gặp sự cố nên chưa trả lời được. Bạn vui lòng thử lại sau ít phút, "
    "hoặc liên hệ Bộ phận Một cửa nơi bạn cư trú."
)
HOTLINE_FALLBACK_INTRO = "Bạn có thể gọi:"
DOSSIER_STATUS = (
    "Tôi không xem được tình trạng hồ sơ của từng người. Bạn có thể tra cứu bằng mã hồ sơ "
    "(ghi trên giấy tiếp nhận) tại Cổng Dịch vụ công quốc gia https://dichvucong.gov.vn "
    '(mục "Tra cứu hồ sơ") hoặc cổng dịch vụ công của tỉnh, hoặc hỏi nơi đã nộp hồ sơ.'
)
DOCUMENTS_BY_CASE = "(Tùy trường hợp; danh sách theo từng trường hợp xem tại trang thủ tục.)"
CLARIFY = "Bạn đang hỏi về thủ tục nào dưới đây? Hãy trả lời bằng số thứ tự:"
CLARIFY_RETRY = "Bạn vui lòng chọn một số trong danh sách, hoặc hỏi lại rõ hơn."
CHOICE_EXPIRED = (
    "Danh sách lựa chọn này đã hết hạn. Bạn vui lòng gõ lại câu hỏi để tôi tra cứu lại nhé."
)
HELP_VAGUE = (
    "Bạn muốn hỏi về thủ tục nào? Hãy gõ tên thủ tục hoặc việc bạn cần làm, ví dụ: "
    "\"làm căn cước cho con\", \"đăng ký khai sinh\", \"lệ phí đổi giấy phép lái xe\", "
    "\"tách hộ khẩu cần giấy tờ gì\"."
)
ASK_WHICH_PROCEDURE = (
    "Bạn hỏi về thủ tục nào? Hãy gõ kèm tên thủ tục, ví dụ: \"lệ phí đăng ký thường trú\" "
    "hoặc \"cấp lại căn cước mất bao lâu\"."
)
RELATED_INTRO = "Nếu bạn thuộc trường hợp khác, gõ số tương ứng:"
ANSWER_IS_FOR = "Thông tin trên theo: {where}."
WHERE_UNKNOWN = "cơ quan có thẩm quyền"
SUBSCRIBED = (
    "Bạn đã đăng ký nhận thông báo khi có thông tin mới về thủ tục hành chính. "
    "Gõ /unsubscribe để hủy."
)
UNSUBSCRIBED = "Bạn đã hủy nhận thông báo. Gõ /subscribe nếu muốn nhận lại."
#: The opt-in button (where a platform has buttons) and the note a follower reads.
SUBSCRIBE_BUTTON = "🔔 Nhận thông báo"
FOLLOW_SUBSCRIBED = (
    "Bạn sẽ nhận thông báo khi có dịch vụ công trực tuyến mới hoặc thay đổi lệ phí. "
    "Gõ /unsubscribe nếu không muốn nhận."
)
PLEASE_TYPE = "Hiện tôi chỉ đọc được tin nhắn chữ. Bạn vui lòng gõ câu hỏi của mình nhé."
RATE_LIMITED = (
    "Bạn gửi hơi nhiều tin nhắn trong thời gian ngắn. Vui lòng đợi một chút rồi hỏi tiếp."
)
TOO_LONG = (
    "Câu hỏi dài quá 2.000 ký tự nên chưa được gửi. Bạn vui lòng rút gọn (chỉ cần tên thủ tục "
    "và điều bạn muốn biết) rồi gửi lại."
)

ONLINE_LEVELS = (
    "Dịch vụ công trực tuyến có hai mức (theo Nghị định 42/2022/NĐ-CP):\n"
    "- Toàn trình (trước đây gọi là mức độ 4): nộp hồ sơ, thanh toán phí và nhận kết quả hoàn "
    "toàn qua mạng, không phải đến cơ quan.\n"
    "- Một phần (trước đây gọi là mức độ 3): nộp hồ sơ trực tuyến, nhưng còn bước phải làm "
    "trực tiếp như nộp bản gốc, nộp phí hoặc nhận kết quả.\n"
    "Bạn có thể hỏi tôi một thủ tục cụ thể để biết có làm trực tuyến được không."
)
ONLINE_FULL = (
    "Có thể làm trực tuyến toàn trình (mức độ 4): nộp hồ sơ, nộp phí và nhận kết quả qua mạng."
)
ONLINE_PARTIAL = (
    "Có thể nộp hồ sơ trực tuyến (dịch vụ công một phần, mức độ 3); một số bước như xuất trình "
    "bản gốc hoặc nhận kết quả có thể vẫn phải làm trực tiếp."
)
ONLINE_NONE = "Theo dữ liệu hiện có, thủ tục này chưa có dịch vụ công trực tuyến."
ONLINE_LINK = "Nộp trực tuyến tại: {url}"
ONLINE_FULL_SHORT = "Có thể làm trực tuyến toàn trình (mức độ 4)."
ONLINE_PARTIAL_SHORT = "Có thể nộp hồ sơ trực tuyến (dịch vụ công một phần, mức độ 3)."
LEVEL_WORDS = {"toan_trinh": "toàn trình", "mot_phan": "một phần"}

METHOD = {
    "truc_tuyen": "Nộp trực tuyến",
    "truc_tiep": "Nộp trực tiếp",
    "buu_chinh": "Qua bưu chính",
}
UNIT = {
    "working_day": "ngày làm việc",
    "day": "ngày",
    "hour": "giờ",
    "month": "tháng",
    "year": "năm",
}
FREE = "miễn phí"
FEE_UNKNOWN = "chưa có mức cụ thể trong dữ liệu"
NO_FEE_INFO = "không có thông tin về phí, lệ phí"
TIME_UNKNOWN = "chưa có thông tin"
TIME_NO_UNIT = "(dữ liệu gốc không ghi đơn vị thời gian)"
TIME_SEE_DETAIL = "theo quy định (xem chi tiết tại trang thủ tục)"
EVERY_METHOD = "Mọi cách nộp"
FEE_ZERO = "0 đồng (dữ liệu không ghi chú thêm)"
FEE_UNTIL = "(áp dụng đến hết {date})"
FEE_FROM = "{fee} (áp dụng từ {date})"
FEE_EXPIRED_MARK = "đã hết hiệu lực"
FEE_EXPIRED = "{fee} (chỉ áp dụng đến hết {date}, " + FEE_EXPIRED_MARK + ")"
FEE_ENDED = "(chỉ áp dụng đến hết {date}, " + FEE_EXPIRED_MARK + ")"
FEE_EXPIRED_NOTE = "Mức đang áp dụng thay cho mức đã hết hiệu lực: xem tại trang thủ tục."
FEE_REDUCED = "{amount} {until} (bằng {percent}% mức đầy đủ {base}, theo ghi chú của thủ tục)"
FEE_SET_BY = "do {who} quy định"
FEE_SET_IN_NOTE = "theo quy định, không có một mức chung"
FEE_NOTE_AMOUNTS = "mức ghi trong dữ liệu: {amounts}"
FEE_IN_NOTE = "theo các mức ghi trong dữ liệu:"
FEE_OTHER_AMOUNTS = "và các mức {amounts} đồng"
FEE_AMOUNTS_ONLY = "các mức {amounts} đồng"
FEE_NO_CURRENCY = "dữ liệu ghi {value} nhưng không ghi đơn vị tiền (xem chi tiết)"

PROCEDURE_HEADER = "Thủ tục: {name} (mã {code})"
FEES_TITLE = "Phí, lệ phí:"
TIME_TITLE = "Thời hạn giải quyết:"
DOCUMENTS_TITLE = "Thành phần hồ sơ:"
DOCUMENTS_MORE = "... và {n} giấy tờ khác (xem đầy đủ tại trang thủ tục)."
DOCUMENTS_CASE = "Trường hợp {case}:"
SEE_DETAIL = "… (còn nữa, xem đầy đủ tại trang thủ tục)"
MORE_HINT = "Muốn biết thêm, gõ {words}."
DOCUMENT_COUNTS = "{originals} bản chính, {copies} bản sao"
DOCUMENT_ORIGINALS = "{originals} bản chính"
WHERE_TITLE = "Cơ quan thực hiện: {agencies}"
LEVELS = "Cấp thực hiện: {levels}"
ADDRESS = "Địa chỉ tiếp nhận: {address}"
STEPS_TITLE = "Trình tự thực hiện:"
LEGAL_TITLE = "Căn cứ pháp lý:"
CONDITIONS_TITLE = "Yêu cầu, điều kiện:"
CONDITIONS_NONE = "Dữ liệu không ghi yêu cầu, điều kiện riêng cho thủ tục này."
RESULT_TITLE = "Kết quả giải quyết:"
CHANNELS_TITLE = "Cách thực hiện:"
SUMMARY_ONLY = (
    "Cơ sở dữ liệu hiện chỉ có thông tin tóm tắt của thủ tục này (lĩnh vực, cơ quan thực hiện); "
    "hồ sơ, lệ phí và thời hạn xin xem tại trang thủ tục."
)
FIELD = "Lĩnh vực: {fields}"
DETAIL_LINK = "Chi tiết: {url}"
UPDATED = "Nguồn: Cổng Dịch vụ công quốc gia, dữ liệu ngày {date}."
UPDATED_SHORT = "Nguồn: Cổng DVC quốc gia, dữ liệu ngày {date}."
NOT_IN_RECORD = "Dữ liệu của thủ tục này không ghi {what}."
WHAT = {
    "documents": "thành phần hồ sơ",
    "fee": "phí, lệ phí",
    "time": "thời hạn giải quyết",
    "steps": "trình tự thực hiện",
    "legal_basis": "căn cứ pháp lý",
    "result": "kết quả giải quyết",
}

FAQ_HEADER = "Câu hỏi tương tự đã được {source} trả lời:"
FAQ_SOURCE = "Bộ Y tế"
FAQ_QUESTION = "Hỏi: {question}"
FAQ_ANSWER = "Đáp: {answer}"
FAQ_TRUNCATED = "(Câu trả lời gốc dài hơn; xem đầy đủ tại nguồn.)"
SOURCE = "Nguồn: {url}"

PLAN_HEADER = "Kế hoạch số {number}{who}: {title}"
PLAN_HEADER_UNNUMBERED = "Kế hoạch “{title}”{who}"
PLAN_YEAR = "năm {year}"
PLAN_SECTIONS = "Các phần chính: {sections}"
PLAN_SECTION = "Mục: {path}"
PLAN_PREAMBLE = "Phần mở đầu"
PLAN_ROW = "bảng, dòng {number}"
PLAN_TABLE = "bảng"
HOTLINE_LINE = "- {name}{area}: {phones}{hours}"
HOTLINE_HOURS = ", {hours}"
HOTLINE_EMAIL = "  Thư điện tử: {email}"
HOTLINE_SOURCE = "  (nguồn: {source})"
HOTLINE_SOURCE_DATED = "  (nguồn: {source}, cập nhật ngày {date})"
HOTLINE_VERIFIED = "  (cập nhật ngày {date})"

# --- live handoff to an officer (cán bộ) -------------------------------------------------
HANDOFF_OPEN = (
    "Tôi đã chuyển cuộc trò chuyện cho cán bộ. Cán bộ sẽ trả lời bạn ngay tại đây trong giờ "
    "làm việc; trong lúc chờ, trợ lý tự động tạm dừng để không nói chen. "
    'Gõ "gặp trợ lý" nếu bạn muốn quay lại hỏi trợ lý tự động.'
)
HANDOFF_CLOSED_HOURS = (
    "Hiện đã ngoài giờ làm việc ({hours}). Câu hỏi của bạn đã được chuyển cho cán bộ, "
    "cán bộ sẽ trả lời tại đây vào buổi làm việc tiếp theo ({next}). "
    'Gõ "gặp trợ lý" nếu bạn muốn quay lại hỏi trợ lý tự động.'
)
HANDOFF_FAILED_TWICE = (
    "Tôi chưa trả lời được hai câu hỏi liên tiếp của bạn, nên đã chuyển cuộc trò chuyện cho "
    "cán bộ."
)
HANDOFF_BACK_TO_BOT = (
    "Bạn đã quay lại với trợ lý tự động. Bạn cần hỏi thủ tục nào cứ nhắn cho tôi nhé."
)
HANDOFF_RELEASED = (
    "Cán bộ đã kết thúc hỗ trợ. Trợ lý tự động sẵn sàng trả lời tiếp các câu hỏi của bạn."
)
HANDOFF_BUTTON = "Gặp cán bộ"
HANDOFF_NOT_TEXT = "[tin nhắn không phải chữ]"
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
