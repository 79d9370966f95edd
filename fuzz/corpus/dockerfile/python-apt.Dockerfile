# syntax=docker/dockerfile:1
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y build-essential \
    # compilers
    && pip install numpy
COPY requirements.txt /app/
RUN pip install -r /app/requirements.txt
COPY . /app
CMD ["python", "-m", "app"]
