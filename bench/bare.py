"""The ceiling: a bare Flask POST endpoint, served with the same gunicorn settings."""
from flask import Flask, redirect, request

app = Flask(__name__)


@app.post("/categories/<int:category_id>/vote/cast")
def cast(category_id):
    request.form.getlist("approvals")
    return redirect("/vote/receipt")
