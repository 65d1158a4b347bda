"""IBM-Telco-shaped CSV files of any size, written by us: the public file's 21 columns and value
spellings (blank TotalCharges at tenure 0, "No internet service", "Yes"/"No" labels), with churn
driven by the drivers the public data is known for (month-to-month contracts, short tenure, fibre,
electronic cheques, high monthly charges) plus noise. For tests that need more rows than the
40-row fixture (training, explanations), never as a stand-in for the real file's figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ADD_ONS = ("OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies")


def ibm_like_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """`rows` subscribers with the IBM Telco columns, in the public file's spellings."""
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], rows, p=[0.55, 0.21, 0.24])
    tenure = np.where(contract == "Month-to-month", rng.integers(0, 40, rows), rng.integers(0, 73, rows))
    internet = rng.choice(["DSL", "Fiber optic", "No"], rows, p=[0.34, 0.44, 0.22])
    phone = rng.random(rows) < 0.9
    payment = rng.choice(["Electronic check", "Mailed check", "Bank transfer (automatic)",
                          "Credit card (automatic)"], rows, p=[0.34, 0.23, 0.22, 0.21])
    monthly = np.round(np.where(internet == "No", 20.0, np.where(internet == "DSL", 50.0, 80.0))
                       + rng.normal(0, 8, rows).clip(-15, 25), 2)
    total = np.where(tenure == 0, " ", np.round(monthly * np.maximum(tenure, 1), 2).astype(str))
    logit = (-1.2 + 1.3 * (contract == "Month-to-month") - 0.03 * tenure + 0.7 * (internet == "Fiber optic")
             + 0.5 * (payment == "Electronic check") + 0.01 * (monthly - 60) + rng.normal(0, 0.6, rows))
    churn = rng.random(rows) < 1 / (1 + np.exp(-logit))
    yes_no = np.array(["No", "Yes"])
    frame = pd.DataFrame({
        "customerID": [f"{i:04d}-{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}XYZ" for i in range(rows)],
        "gender": rng.choice(["Male", "Female"], rows),
        "SeniorCitizen": (rng.random(rows) < 0.16).astype(int),
        "Partner": yes_no[(rng.random(rows) < 0.48).astype(int)],
        "Dependents": yes_no[(rng.random(rows) < 0.3).astype(int)],
        "tenure": tenure,
        "PhoneService": yes_no[phone.astype(int)],
        "MultipleLines": np.where(phone, yes_no[(rng.random(rows) < 0.47).astype(int)], "No phone service"),
        "InternetService": internet,
    })
    for column in ADD_ONS:
        frame[column] = np.where(internet == "No", "No internet service",
                                 yes_no[(rng.random(rows) < 0.4).astype(int)])
    frame["Contract"] = contract
    frame["PaperlessBilling"] = yes_no[(rng.random(rows) < 0.59).astype(int)]
    frame["PaymentMethod"] = payment
    frame["MonthlyCharges"] = monthly
    frame["TotalCharges"] = total
    frame["Churn"] = yes_no[churn.astype(int)]
    return frame


def write_ibm_like(path: Path, rows: int, seed: int = 0) -> Path:
    """Write `ibm_like_frame(rows, seed)` as a CSV file and return its path."""
    ibm_like_frame(rows, seed).to_csv(path, index=False)
    return path
