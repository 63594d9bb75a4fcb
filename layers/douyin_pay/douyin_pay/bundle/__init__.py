"""The bundle: Douyin payments on AWS (DynamoDB, SQS, Lambda), above the SDK.

Needs the ``[aws]`` extra (boto3, Powertools); the SDK (:mod:`douyin_pay.ecpay`) never imports
this package. The bundle reaches a payment protocol only through the platform port,
:mod:`douyin_pay.bundle.platforms`.
"""
