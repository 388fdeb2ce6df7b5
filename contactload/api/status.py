from rest_framework.views import APIView


class JobStatusView(APIView):
    pass


class BulkUploadView(APIView):
    pass
