FROM debian:bookworm
RUN <<EOF
set -e
apt-get update
apt-get install -y python3
EOF
RUN <<-"SCRIPT" bash
	echo hi
	SCRIPT
ADD https://example.com/x.tar.gz /opt/
