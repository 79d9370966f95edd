# escape=`
FROM mcr.microsoft.com/windows/servercore
RUN pip install `
    flask `
    gunicorn
COPY ["a b", "/c"]
