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
