"""Every sentence the staff web admin shows, in one place (Vietnamese, with diacritics)."""

from __future__ import annotations

TITLE = "Trợ lý TTHC · Quản trị"
FORBIDDEN = "Tài khoản của bạn không có quyền thực hiện thao tác này."
CSRF_FAILED = (
    "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã chống giả mạo). Hãy tải lại trang rồi thử lại."
)
BAD_REQUEST = "Yêu cầu không hợp lệ."
TOO_LARGE = "Nội dung gửi lên quá lớn."
NOT_FOUND = "Không tìm thấy trang hoặc bản ghi này."
LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."
LOGIN_THROTTLED = (
    "Bạn đã nhập sai mật khẩu quá nhiều lần. Vì an toàn, hãy thử lại sau {minutes} phút "
    "hoặc liên hệ quản trị để được cấp lại mật khẩu."
)
LOGGED_OUT = "Bạn đã đăng xuất."
SESSION_EXPIRED = "Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."

# --- officer inbox (hộp thư cán bộ) ---------------------------------------------------------
CHANNEL_NAMES = {
    "zalo-oa": "Zalo OA",
    "zalo-bot": "Zalo Bot",
    "messenger": "Messenger",
    "telegram": "Telegram",
    "web": "Trò chuyện trên web",
    "console": "Dòng lệnh",
}
HANDOFF_STATES = {
    "waiting": "đang chờ cán bộ",
    "officer": "cán bộ đang trả lời",
    "closed": "đã kết thúc",
}
HANDOFF_REASONS = {
    "asked": "người dân yêu cầu gặp cán bộ",
    "failed_twice": "trợ lý không trả lời được hai lần liền",
    "human_echo": "có người trả lời trực tiếp trên nền tảng",
}
CLOSE_REASONS = {
    "released": "cán bộ trả lại cho trợ lý tự động",
    "timeout": "hết thời gian chờ, đã trả về trợ lý tự động",
    "citizen": "người dân chọn quay lại trợ lý tự động",
}
#: Who typed a reply on the platform itself instead of in this inbox.
PLATFORM_PEOPLE = {
    "page-inbox": "người quản lý Trang (Page Inbox)",
    "oa-console": "nhân viên OA (bảng điều khiển Zalo OA)",
}
DIRECTIONS = {"citizen": "Người dân", "officer": "Cán bộ", "bot": "Trợ lý tự động"}
INBOX_OFF = (
    "Hộp thư cán bộ chưa hoạt động ở máy chủ này: chưa có kênh nhắn tin nào được cấu hình "
    "(Zalo, Messenger, Telegram)."
)
HOURS_OPEN = "Đang trong giờ làm việc ({hours})."
HOURS_CLOSED = (
    "Đang ngoài giờ làm việc ({hours}). Người dân đã được báo cán bộ sẽ trả lời từ {next}."
)
CLAIMED = "Bạn đã nhận cuộc trò chuyện; trợ lý tự động im lặng cho đến khi bạn trả lại."
REPLY_QUEUED = "Đã gửi trả lời tới người dân qua {channel}."
REPLY_QUEUED_TAGGED = (
    "Đã gửi trả lời tới người dân qua {channel} (ngoài 24 giờ: gửi kèm thẻ tin của nhân viên "
    "hỗ trợ HUMAN_AGENT)."
)
RELEASED = "Đã trả cuộc trò chuyện cho trợ lý tự động."
RELEASED_NOTIFIED = "Đã trả cuộc trò chuyện cho trợ lý tự động và báo cho người dân."
RELEASED_NOT_NOTIFIED = (
    "Đã trả cuộc trò chuyện cho trợ lý tự động; không gửi được lời báo cho người dân: {reason}"
)
REPLY_TOO_LONG = "Nội dung trả lời dài quá {limit} ký tự."
WINDOW_OK = "Có thể trả lời ngay."
WINDOW_TAGGED = (
    "Đã quá 24 giờ từ tin cuối của người dân: tin trả lời sẽ gửi kèm thẻ HUMAN_AGENT "
    "(Messenger cho phép trong 7 ngày)."
)

# --- knowledge gaps (câu hỏi chưa trả lời được) ---------------------------------------------
GAP_KINDS = {
    "no_answer": "chưa trả lời được",
    "handoff": "chuyển cán bộ",
    "thumbs_down": "người dân không hài lòng (👎)",
}
GAP_PERIODS = {"7": "7 ngày qua", "30": "30 ngày qua", "90": "90 ngày qua", "": "Toàn bộ"}
GAP_GONE = (
    "Nhóm câu hỏi này đã thay đổi (có câu hỏi mới hoặc đã quá khoảng thời gian lọc). "
    "Hãy xem lại danh sách rồi thử lại."
)
GAP_FAQ_CREATED = (
    "Đã tạo bản nháp hỏi đáp từ nhóm câu hỏi. Hãy viết (hoặc sửa) câu trả lời rồi gửi duyệt."
)
GAP_FAQ_EXISTS = "Nhóm câu hỏi này đã có bản nháp hỏi đáp đang mở; mở bản nháp đó để tiếp tục."
GAP_NO_GLOSSARY = (
    "Chưa cấu hình tệp từ điển của cán bộ (TTHC_GLOSSARY_PATH) nên chưa thêm được từ của "
    "người dân; hãy báo quản trị."
)
GAP_WORDS_ADDED = (
    "Đã thêm “{line}” vào từ điển từ của người dân. Từ này được dùng từ lần dựng chỉ mục "
    "tiếp theo (đã yêu cầu dựng lại)."
)
GAP_NO_PROCEDURE = "Không có thủ tục mã “{code}”."
GAP_WORDS_ROLE = "Chỉ người duyệt hoặc quản trị được thêm từ của người dân vào từ điển."

# -- announcements (thông báo tuyên truyền) ------------------------------------------
ANNOUNCE_STATES = {
    "draft": "Nháp",
    "scheduled": "Đã lên lịch",
    "sending": "Đang gửi",
    "done": "Đã gửi xong",
    "cancelled": "Đã hủy",
}
ANNOUNCE_DELIVERY_STATES = {
    "sent": "Đã gửi",
    "skipped_window": "Ngoài khung tương tác (bỏ qua)",
    "unsubscribed": "Đã hủy đăng ký",
    "failed": "Lỗi",
    "pending": "Chờ gửi",
    "sending": "Đang gửi",
}
ANNOUNCE_DONE = {
    "draft": "Đã lưu nháp thông báo #{id}. Người duyệt hoặc quản trị sẽ gửi.",
    "send": "Thông báo #{id} sẽ được gửi trong vòng 15 giây.",
    "schedule": "Đã lên lịch thông báo #{id}.",
}
ANNOUNCE_CANCELLED = "Đã hủy thông báo #{id}."
ANNOUNCE_NOT_DRAFT = "Thông báo này đã được gửi hoặc đã hủy."
ANNOUNCE_SEND_ROLE = "Chỉ người duyệt hoặc quản trị được gửi thông báo; bạn có thể lưu nháp."
ANNOUNCE_BAD_TIME = "Thời điểm gửi không hợp lệ."
ANNOUNCE_NO_TIME = "Chọn thời điểm gửi để lên lịch."
ANNOUNCE_BAD_ACTION = "Thao tác không hợp lệ."
